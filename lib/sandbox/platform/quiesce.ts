import { StreamPollerError } from '../streams/errors.ts';

/** The least a confirming round of `quiesce` waits for the streams, even past the caller's budget. */
export const QUIESCE_CONFIRM_MIN_MS = 10_000;

/** What `quiesce` waits on: each live region's stream, every bus, the ordinary lane. */
export interface QuiescePlant {
  /** The live regions' streams (asked each round): `idle` resolves once read to the end, rejects (StreamPollerError) after `timeoutMs`. */
  streams(): { region: string; idle(timeoutMs: number): Promise<void> }[];
  /** Every bus delivered what it holds. */
  drainBuses(): Promise<void>;
  /** The ordinary lane's queues emptied, given `timeoutMs` (it takes at least its batching window). */
  settleLanes(timeoutMs: number): Promise<void>;
}

/**
 * Three rounds of: streams read to their end, buses drained, lanes settled (delivering can write what the
 * streams then carry). `timeoutMs` is a hang guard for the first round; the two rounds after it, which only
 * confirm that delivering made nothing new, get what is left of it but at least QUIESCE_CONFIRM_MIN_MS: one
 * empty read of every shard takes over a second on a loaded machine, so a first round that used the
 * budget up must not fail them. A stream that is not caught up is named with its region and round.
 */
export async function quiesceRounds(plant: QuiescePlant, timeoutMs: number): Promise<void> {
  const startedAt = Date.now();
  const deadline = startedAt + timeoutMs;
  for (let round = 0; round < 3; round++) {
    const left = Math.max(round === 0 ? 1_000 : QUIESCE_CONFIRM_MIN_MS, deadline - Date.now());
    await Promise.all(
      plant.streams().map(({ region, idle }) =>
        idle(left).catch((error: unknown) => {
          if (!(error instanceof StreamPollerError)) throw error;
          throw new StreamPollerError(
            `${region}: ${error.message} (quiesce round ${round + 1} of 3, ${Date.now() - startedAt} ms after it began, budget ${timeoutMs} ms)`,
            { cause: error },
          );
        }),
      ),
    );
    await plant.drainBuses();
    await plant.settleLanes(deadline - Date.now());
  }
}
