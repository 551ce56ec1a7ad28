import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { collectedChain } from '../../../lib/runbooks/collected-chain.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

let wall = 1_800_000_000_000;
/** An event at `seq` on top of `prev`, written at `epoch`. */
const event = (seq: number, prev: string | null, epoch: number, region = 'r1'): EventEnvelope =>
  sampleEnvelope({ seq, prev, epoch, hlc: encodeHlc({ wall: wall++, logical: 0, region }) });

/** A chain of `length` events after `prev` (seq from `from`), epochs non-decreasing from `epoch`. */
function chainFrom(from: number, prev: string | null, length: number, epochs: number[]): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let i = 0; i < length; i++) {
    const e = event(from + i, out.at(-1)?.hlc ?? prev, epochs[i]!);
    out.push(e);
  }
  return out;
}

describe('collectedChain: the run a new home collects from a majority of logs', () => {
  it('follows the committed chain through any logs, whatever their order, past every losing branch', () => {
    const history = fc.record({
      length: fc.integer({ min: 1, max: 12 }),
      bumps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 12, maxLength: 12 }),
      branches: fc.array(fc.record({ at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }), {
        maxLength: 4,
      }),
      prefixes: fc.array(fc.nat(), { maxLength: 3 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(history, ({ length, bumps, branches, prefixes, seed }) => {
        const epochs: number[] = [];
        bumps.forEach((b, i) => {
          epochs.push((epochs[i - 1] ?? 2) + b * 2);
        });
        const committed = chainFrom(1, null, length, epochs);
        const logs: EventEnvelope[][] = [committed];
        // Older homes' uncommitted copies: a branch off the chain, at a lower epoch than the chain's next event.
        for (const { at, length: n } of branches) {
          const fork = at % length;
          const base = committed[fork - 1];
          const below = Math.max(0, committed[fork]!.epoch - 1);
          logs.push(chainFrom(fork + 1, base?.hlc ?? null, n, Array(n).fill(below)));
        }
        for (const p of prefixes) logs.push(committed.slice(0, p % (length + 1)));
        const shuffled = fc.sample(fc.shuffledSubarray(logs, { minLength: logs.length }), {
          seed,
          numRuns: 1,
        })[0]!;
        const run = collectedChain({ seq: 0, hlc: null }, shuffled);
        expect(run.map((e) => e.eventId)).toEqual(committed.map((e) => e.eventId));
      }),
      { numRuns: 200 },
    );
  });

  it("follows the committed chain past a later home's lost branch above older events (Raft's Figure 8)", () => {
    // An older home's event W on a majority acknowledged under a later epoch (a write on top of it), and at
    // W's seq an event X of an epoch between: X never reached a majority, so the chain through W must win.
    const history = fc.record({
      before: fc.integer({ min: 0, max: 4 }),
      after: fc.integer({ min: 1, max: 4 }),
      lost: fc.integer({ min: 1, max: 3 }),
      seed: fc.integer(),
    });
    const run = (switched: boolean) =>
      fc.check(
        fc.property(history, ({ before, after, lost, seed }) => {
          const prefix = chainFrom(1, null, before, Array(before).fill(2));
          const w = event(before + 1, prefix.at(-1)?.hlc ?? null, 2);
          const onTop = chainFrom(before + 2, w.hlc, after, Array(after).fill(6));
          const x = chainFrom(before + 1, prefix.at(-1)?.hlc ?? null, lost, Array(lost).fill(4));
          const committed = [...prefix, w, ...onTop];
          const logs = fc.sample(fc.shuffledSubarray([committed, [...prefix, ...x]], { minLength: 2 }), {
            seed,
            numRuns: 1,
          })[0]!;
          if (switched) enableBugs(['per-seq-epoch-collection']);
          try {
            const got = collectedChain({ seq: 0, hlc: null }, logs);
            expect(got.map((e) => e.eventId)).toEqual(committed.map((e) => e.eventId));
          } finally {
            disableAllBugs();
          }
        }),
        { numRuns: 100 },
      );
    expect(run(false).failed).toBe(false);
    // With the bug switch, the per-seq epoch rule picks X and loses the acknowledged write on top of W.
    const switched = run(true);
    expect(switched.failed).toBe(true);
    expect(String(switched.errorInstance)).toContain('to deeply equal');
  });

  it('starts from the head it is given and prefers the new home log between two events of one epoch', () => {
    const [a, b] = chainFrom(1, null, 2, [3, 3]);
    const mine = event(3, b!.hlc, 5, 'r2');
    const theirs = event(3, b!.hlc, 5, 'r3');
    const next = event(4, mine.hlc, 5, 'r2');
    const run = collectedChain(
      { seq: 2, hlc: b!.hlc },
      [
        [a!, b!, theirs],
        [mine, next],
      ],
      new Set([mine.eventId]),
    );
    expect(run).toEqual([mine, next]);
  });
});
