import { describe, expect, it } from 'vitest';
import { QUIESCE_CONFIRM_MIN_MS, quiesceRounds } from '../../../lib/sandbox/platform/quiesce.ts';
import { StreamPollerError } from '../../../lib/sandbox/streams/errors.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A stream whose first read to the end takes `firstTakesMs`, and whose later ones catch up only when given at
 * least `needsMs` (what a loaded machine's empty reads of every shard need).
 */
function stream(region: string, needsMs: number, asked: number[], firstTakesMs = 0) {
  return {
    region,
    idle: async (timeoutMs: number) => {
      asked.push(timeoutMs);
      if (asked.length === 1) return sleep(firstTakesMs);
      if (timeoutMs < needsMs) throw new StreamPollerError(`Stream not caught up within ${timeoutMs} ms`);
    },
  };
}

describe('quiesce rounds (the sandbox waiting for every region to catch up)', () => {
  it('gives the confirming rounds at least QUIESCE_CONFIRM_MIN_MS when the first round used the budget up', async () => {
    // The restore drill's failure on a slow CI machine: the first round took the whole budget, and the
    // next round's streams, given 1 s, were not read to their end in time.
    const asked: number[] = [];
    const rounds: number[] = [];
    const slow = stream('us-east-1', 1_500, asked, 60);
    await quiesceRounds(
      {
        streams: () => [slow],
        drainBuses: async () => {},
        settleLanes: async (ms) => {
          rounds.push(ms);
        },
      },
      50,
    );
    expect(asked).toHaveLength(3);
    expect(asked[0]).toBe(1_000);
    expect(asked.slice(1).every((ms) => ms >= QUIESCE_CONFIRM_MIN_MS)).toBe(true);
    expect(rounds).toHaveLength(3);
  });

  it('still fails a stream that does not catch up, naming its region, the round and the time spent', async () => {
    const stuck = stream('eu-west-1', Number.POSITIVE_INFINITY, []);
    const error = await quiesceRounds(
      {
        streams: () => [stuck],
        drainBuses: async () => {},
        settleLanes: async () => {},
      },
      50,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamPollerError);
    expect((error as Error).message).toMatch(
      /^eu-west-1: Stream not caught up within 10000 ms \(quiesce round 2 of 3, \d+ ms after it began, budget 50 ms\)$/,
    );
  });

  it('asks for the live streams each round (a region that went down is not waited for)', async () => {
    const live = [stream('a', 0, []), stream('b', 0, [])];
    const seen: string[][] = [];
    await quiesceRounds(
      {
        streams: () => {
          seen.push(live.map((s) => s.region));
          return live;
        },
        drainBuses: async () => {
          live.pop();
        },
        settleLanes: async () => {},
      },
      1_000,
    );
    expect(seen).toEqual([['a', 'b'], ['a'], []]);
  });

  it('passes any other error through', async () => {
    await expect(
      quiesceRounds(
        {
          streams: () => [{ region: 'a', idle: async () => Promise.reject(new TypeError('bug')) }],
          drainBuses: async () => {},
          settleLanes: async () => {},
        },
        1_000,
      ),
    ).rejects.toThrow(TypeError);
  });
});
