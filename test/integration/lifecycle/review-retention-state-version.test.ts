import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { foldedContent, foldFullLog } from '../../../lib/lifecycle/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { partitionOf } from '../../../lib/ownership/partition.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { testAggregates, uniqueId } from '../replication/cells.ts';
import {
  archiveAt,
  archiveDir,
  deposit,
  open,
  repairFrom,
  snapshotNow,
  threeRegions,
  topology,
  write,
} from './review-retention-fixtures.ts';

/**
 * Guarantee attacked: "no region left unable to serve an aggregate forever" (README Data lifecycle,
 * "Evolving the state's shape": bump `stateVersion`, older snapshots are ignored and the next load folds
 * from the events).
 *
 * Interleaving: H archives a dormant account X below its snapshot (seq 1-12 become stubs). The application
 * then bumps `account.stateVersion` (even with `evolve` unchanged). Every kept snapshot of X is now ignored,
 * and the runbook cells carry snapshots but no archive (the sandbox's wiring; the archive is "not built"), so
 * X's log at H cannot be folded by anything until H writes a new snapshot of X, which for a dormant account is
 * never. Repair's row rebuild of X at H throws HistoryIncompleteError out of `rebuildDivergedRows`, which
 * aborts the Replay of the whole partition: another account Y of the same partition, whose row at R
 * diverged from R's own (whole) log, is never rebuilt, on every Repair run.
 */
async function repairAfterArchive(stateVersion: number) {
  const [h, c, r] = await threeRegions();
  const x = uniqueId('rr-sv-x');
  let y = `${x}-y0`;
  for (let i = 1; partitionOf(y, topology.partitions) !== partitionOf(x, topology.partitions); i++)
    y = `${x}-y${i}`;
  await write(h!, [c!, r!], x, open);
  for (let i = 1; i <= 12; i++) await write(h!, [c!, r!], x, deposit(i));
  await snapshotNow(h!, x);
  expect((await archiveAt(h!, await archiveDir('sv'), [c!, r!], x)).archived).toBe(12);
  expect((await h!.events.loadStream('account', x)).filter(isArchivedStub)).toHaveLength(12);
  await write(h!, [c!, r!], y, open);
  for (let i = 1; i <= 3; i++) await write(h!, [c!, r!], y, deposit(i));

  // Rows at R diverge from R's logs (a bad deploy wrote them, a partial state-table restore, ...).
  for (const id of [x, y]) {
    const log = await r!.events.loadStream('account', id);
    const row = (await r!.states.getState('account', id))!;
    await r!.states.putStateIf(foldFullLog(account, id, log.slice(0, 2)), row);
  }

  // The application's next deploy bumps (or, for the control, keeps) the state shape version of `account`.
  const bumped = testAggregates.map((a) => (a.name === 'account' ? { ...a, stateVersion } : a));
  const outcome = await repairFrom(
    [h!, c!, r!],
    r!.region,
    [partitionOf(x, topology.partitions)],
    undefined,
    createRegistry(bumped, topology),
  ).then(
    (report) => ({ report }),
    (error: unknown) => ({ error: error instanceof Error ? `${error.name}: ${error.message}` : error }),
  );
  const yAtR = foldedContent((await r!.states.getState('account', y))!);
  const yLog = await r!.events.loadStream('account', y);
  expect(yAtR, `Repair: ${JSON.stringify(outcome).slice(0, 400)}`).toEqual(
    foldedContent(foldFullLog(account, y, yLog)),
  );
}

describe('review-retention: a stateVersion bump after archiving, with the runbook wiring (snapshots, no archive)', () => {
  it('control: without the bump, Repair rebuilds the diverged rows (passes on this branch)', async () => {
    await repairAfterArchive(1);
  });

  it("after the bump, still rebuilds the diverged rows of the partition's other aggregates (a refusal stays with the aggregate that cannot be folded)", async () => {
    await repairAfterArchive(2);
  });

  it('under repair-aborts-on-unfoldable-row (an unfoldable row aborts the Replay) the other rows are not rebuilt', async () => {
    await expect(withBug('repair-aborts-on-unfoldable-row', () => repairAfterArchive(2))).rejects.toThrow();
  });
});
