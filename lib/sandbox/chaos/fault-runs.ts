import type { Sandbox } from '../platform/sandbox.ts';
import type { InjectInput } from './nemesis.ts';
import { pick } from './random.ts';
import type { RunbookRun } from './runbook-starter.ts';
import { sleep } from './simple-faults.ts';

/** The runbook executions one fault starts, for its report line. */
export class Runs {
  readonly list: RunbookRun[] = [];

  constructor(private readonly input: InjectInput) {}

  start(region: string, runbook: RunbookRun['runbook'], body: Record<string, unknown>): Promise<RunbookRun> {
    const started = this.input.runbooks.start(region, runbook, body);
    this.list.push(started.run);
    return started.done;
  }

  /**
   * Failback of `lost` in a region other than it, once `failover` succeeded (nothing to fail back
   * otherwise). A Failback that fails (a later fault cut it off) is started again, as the runbook asks an
   * operator to, up to FAILBACK_ATTEMPTS times: a region failed over must come back with its orphans settled.
   */
  failbackAfter(sandbox: Sandbox, failover: Promise<RunbookRun>, lost: string): void {
    const others = sandbox.regions.map((r) => r.name).filter((n) => n !== lost);
    const attempt = async (left: number): Promise<unknown> => {
      const back = pick(
        this.input.random,
        others.filter((n) => !sandbox.region(n).isDown),
      );
      const run = await this.start(back ?? others[0]!, 'Failback', { region: lost, switchBack: true });
      if (run.status === 'SUCCEEDED' || left <= 1) return run;
      await sleep(FAILBACK_RETRY_MS);
      return attempt(left - 1);
    };
    this.input.runbooks.track(
      failover.then((run) => (run.status === 'SUCCEEDED' ? attempt(FAILBACK_ATTEMPTS) : undefined)),
    );
  }
}

/** How often a failed Failback is started again, and how long after. */
const FAILBACK_ATTEMPTS = 5;
const FAILBACK_RETRY_MS = 2_000;

export const names = (sandbox: Sandbox) => sandbox.regions.map((r) => r.name);
export const live = (sandbox: Sandbox) => names(sandbox).filter((n) => !sandbox.region(n).isDown);

/**
 * As in AWS, where the health check's alarm starts Failover: wait until the GTM sees `region` down (at
 * most 5 s), then until the peers' heartbeats from it are stale (the majority vote of ConfirmRegionLost
 * needs both), so the Failover is not refused merely for starting early.
 */
export async function untilGtmSeesDown(sandbox: Sandbox, region: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    if (!sandbox.gtm.checker.isHealthy(region)) break;
    await sleep(100);
  }
  await sleep(2.5 * sandbox.timing.heartbeatIntervalMs);
}

/** The partition's current home, read through a live region's map (undefined when no majority answers). */
export async function homeOf(sandbox: Sandbox, partition: number): Promise<string | undefined> {
  for (const name of live(sandbox)) {
    try {
      const entry = await sandbox.region(name).multiRegion.map.read(partition);
      if (entry) return entry.home;
    } catch {
      // No majority from this region: try the next one.
    }
  }
  return undefined;
}
