import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  foldedContent,
  foldFromSnapshot,
  foldFullLog,
  foldLatest,
  type Snapshot,
  snapshotOf,
} from '../../../lib/lifecycle/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { type AccountOp, accountLog } from '../../support/core-history.ts';

const op: fc.Arbitrary<AccountOp> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('Deposited' as const),
      amount: fc.integer({ min: 1, max: 500 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('Withdrawn' as const),
      amount: fc.integer({ min: 1, max: 500 }),
      sameCommand: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'EpochNoOp' as const }) },
);

/** The snapshot a home would have written after folding `log[0..version)`. */
function snapshotAt(log: readonly EventEnvelope[], version: number): Snapshot {
  const row = foldFullLog(account, 'acc-1', log.slice(0, version));
  return snapshotOf(account, row, log[version - 1]!, new Date(0));
}

/**
 * A history, the snapshots a home took of it (at random versions), and sometimes snapshots of a branch
 * the log no longer holds: taken before the branch was retired (Failback, Repair) and the slot rewritten.
 */
const scenario = fc
  .record({
    ops: fc.array(op, { minLength: 1, maxLength: 60 }),
    picks: fc.array(fc.nat(), { maxLength: 4 }),
    branch: fc.option(
      fc.record({ at: fc.nat(), ops: fc.array(op, { minLength: 1, maxLength: 10 }), pick: fc.nat() }),
    ),
  })
  .map(({ ops, picks, branch }) => {
    const log = accountLog(ops);
    const snapshots = picks.map((p) => snapshotAt(log, 1 + (p % log.length)));
    if (branch) {
      // The retired branch forked after event `fork` of the log (its own commands, another writer).
      const fork = branch.at % log.length;
      const base = log.slice(0, fork);
      const retired = accountLog(branch.ops, {
        ...(fork > 0 ? { after: base[fork - 1]! } : {}),
        origin: 'eu-west-1',
        causePrefix: 'lost',
      });
      const branchLog = [...base, ...retired];
      const version = fork + 1 + (branch.pick % retired.length);
      snapshots.push(snapshotAt(branchLog, version));
    }
    // The store keeps one snapshot per version (the last put wins) and a load reads them newest first.
    const byVersion = new Map(snapshots.map((s) => [s.version, s]));
    return { log, snapshots: [...byVersion.values()].sort((a, b) => b.version - a.version) };
  });

describe('snapshot + tail', () => {
  afterEach(() => disableAllBugs());

  it('folds to the same row as the full log, whatever the history and the snapshots', () => {
    fc.assert(
      fc.property(scenario, ({ log, snapshots }) => {
        const loaded = foldLatest(account, 'acc-1', snapshots, log);
        expect(foldedContent(loaded.record)).toEqual(foldedContent(foldFullLog(account, 'acc-1', log)));
      }),
      { numRuns: 300 },
    );
  });

  it('uses the newest snapshot the log confirms and folds only the events after it', () => {
    const log = accountLog(Array.from({ length: 250 }, () => ({ type: 'Deposited' as const, amount: 1 })));
    const fold = foldFromSnapshot(account, snapshotAt(log, 200), log.slice(199));
    expect(fold).toMatchObject({ tail: 51 });
    expect('record' in fold && JSON.parse(fold.record.state).balance).toBe(250);
  });

  it('rejects a snapshot whose last event the log no longer holds', () => {
    const log = accountLog([{ type: 'Deposited', amount: 5 }]);
    const retired = accountLog([{ type: 'Deposited', amount: 900 }], { after: log[0]!, origin: 'eu-west-1' });
    const stale = snapshotAt([log[0]!, ...retired], 2);
    expect(foldFromSnapshot(account, stale, log.slice(1))).toEqual({ rejected: 'head-not-in-log' });
  });

  it('rejects a snapshot below the archive point (archived stubs in its tail), never folds a stub', () => {
    const log = accountLog(Array.from({ length: 5 }, () => ({ type: 'Deposited' as const, amount: 1 })));
    const stubbed = log.map((e, i) => (i < 3 ? ({ ...e, payload: {}, archived: true } as EventEnvelope) : e));
    expect(foldFromSnapshot(account, snapshotAt(log, 2), stubbed.slice(1))).toEqual({
      rejected: 'archived-tail',
    });
    expect(foldFromSnapshot(account, snapshotAt(log, 3), stubbed.slice(2))).toMatchObject({
      tail: log.length - 3,
    });
  });

  it('rejects a snapshot taken with another state version', () => {
    const log = accountLog([{ type: 'Deposited', amount: 5 }]);
    const snapshot = { ...snapshotAt(log, 2), stateVersion: 2 };
    expect(foldFromSnapshot(account, snapshot, log.slice(1))).toEqual({ rejected: 'state-version' });
  });

  it('is caught by the property when the broken build trusts snapshots unchecked (unchecked-snapshot)', async () => {
    await withBug('unchecked-snapshot', async () => {
      expect(() =>
        fc.assert(
          fc.property(scenario, ({ log, snapshots }) => {
            const loaded = foldLatest(account, 'acc-1', snapshots, log);
            expect(foldedContent(loaded.record)).toEqual(foldedContent(foldFullLog(account, 'acc-1', log)));
          }),
          { numRuns: 300 },
        ),
      ).toThrow();
    });
  });
});
