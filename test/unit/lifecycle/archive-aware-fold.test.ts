import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import {
  foldArchiveAware,
  foldedContent,
  foldFullLog,
  HistoryIncompleteError,
  type Snapshot,
  snapshotOf,
} from '../../../lib/lifecycle/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { type AccountOp, accountLog } from '../../support/core-history.ts';

const op: fc.Arbitrary<AccountOp> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('Deposited' as const),
      amount: fc.integer({ min: 1, max: 500 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'EpochNoOp' as const }) },
);

/** The item an archived event leaves in its slot, as the store reads it back (lib/store fromEventItem). */
function stubOf(event: EventEnvelope): EventEnvelope {
  return { ...event, payload: {}, archived: true } as EventEnvelope;
}

function snapshotAt(log: readonly EventEnvelope[], version: number): Snapshot {
  return snapshotOf(
    account,
    foldFullLog(account, 'acc-1', log.slice(0, version)),
    log[version - 1]!,
    new Date(0),
  );
}

/** A log whose first `archived` events are stubs, some snapshots of it, and maybe the archive. */
const scenario = fc
  .record({
    ops: fc.array(op, { minLength: 2, maxLength: 40 }),
    archivedAt: fc.nat(),
    picks: fc.array(fc.nat(), { maxLength: 3 }),
    withArchive: fc.boolean(),
  })
  .map(({ ops, archivedAt, picks, withArchive }) => {
    const whole = accountLog(ops);
    const archived = 1 + (archivedAt % (whole.length - 1));
    const log = whole.map((e, i) => (i < archived ? stubOf(e) : e));
    const snapshots = [...new Set(picks.map((p) => 1 + (p % whole.length)))]
      .sort((a, b) => b - a)
      .map((v) => snapshotAt(whole, v));
    return { whole, log, snapshots, archived: withArchive ? whole.slice(0, archived) : [] };
  });

describe('the archive-aware fold of a core log', () => {
  it('equals the full fold of the whole log, or refuses: never another row, never a fold over a stub', () => {
    fc.assert(
      fc.property(scenario, ({ whole, log, snapshots, archived }) => {
        const expected = foldedContent(foldFullLog(account, 'acc-1', whole));
        let row: ReturnType<typeof foldArchiveAware> | undefined;
        try {
          row = foldArchiveAware(account, 'acc-1', { snapshots, archived }, log);
        } catch (error) {
          expect(error).toBeInstanceOf(HistoryIncompleteError);
          // Refused only when neither the archive nor a snapshot at or above the stubs could serve.
          const through = log.filter(isArchivedStub).length;
          expect(archived).toHaveLength(0);
          expect(snapshots.some((s) => s.seq >= through)).toBe(false);
          return;
        }
        expect(foldedContent(row)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a log with stubs when it has neither a snapshot above them nor the archive', () => {
    const whole = accountLog([
      { type: 'Deposited', amount: 5 },
      { type: 'Deposited', amount: 6 },
    ]);
    const log = [stubOf(whole[0]!), ...whole.slice(1)];
    expect(() => foldArchiveAware(account, 'acc-1', { snapshots: [], archived: [] }, log)).toThrow(
      /seq 1 is archived/,
    );
    expect(() => foldFullLog(account, 'acc-1', log)).toThrow(HistoryIncompleteError);
  });
});
