import type { Sandbox } from '../platform/sandbox.ts';
import { LaneNotDrainedError } from '../sqs/errors.ts';
import { StreamPollerError } from '../streams/errors.ts';

/**
 * Waits for the streams, buses and the ordinary lane to drain. On a machine too loaded for them to drain in time the run goes
 * on to the checkers (which report what did not converge) instead of dying with the poller's error.
 */
export async function settle(
  sandbox: Pick<Sandbox, 'quiesce'>,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  try {
    await sandbox.quiesce(timeoutMs);
  } catch (error) {
    if (!(error instanceof StreamPollerError || error instanceof LaneNotDrainedError)) throw error;
    log(`not quiet within ${timeoutMs} ms (${error.message}); checking anyway`);
  }
}
