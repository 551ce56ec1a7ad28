import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  ArchiverNotHomeError,
  archiveAggregate,
  type LocalDirectoryArchive,
  localHomeOf,
} from '../../../lib/lifecycle/index.ts';
import { DynamoControlReplica } from '../../../lib/ownership/dynamodb-replica.ts';
import { partitionOf } from '../../../lib/ownership/partition.ts';
import { partitionKey } from '../../../lib/ownership/partition-map.ts';
import { isArchivedStub } from '../../../lib/store/index.ts';
import { type Cell, uniqueId } from '../replication/cells.ts';
import {
  archiveDir,
  deposit,
  LATER,
  open,
  peerOf,
  snapshotNow,
  snapshotsOf,
  threeRegions,
  topology,
  write,
} from './review-retention-fixtures.ts';

/**
 * Review 3 of i17-archiver. Guarantee attacked (README "Only the home archives"): "The region's own copy is
 * the one a Switchover fences before the new home writes, so an old home stops archiving before the new one
 * appends." `localHomeOf` reads each partition's entry ONCE per pass and keeps the answer for the rest of
 * the pass (a pass over a big state table is a long Lambda run).
 *
 * Interleaving: H is the home of partition p; its archive pass starts and archives aggregate A1 of p (the
 * home answer is now cached). A Switchover fences p in H's own copy and moves it to C (C writes). The same
 * pass reaches aggregate A2 of p: the cached answer still says H, so H stubs A2's events while its own copy
 * says p is homed at C. Expected: A2 left to its home (ArchiverNotHomeError, counted `homedElsewhere`).
 */

async function entry(cell: Cell, p: number, epoch: number, value: Record<string, unknown>) {
  const replica = new DynamoControlReplica({
    region: cell.region,
    client: cell.db.doc,
    tableName: cell.db.tables.control,
  });
  await replica.write(partitionKey(p), { epoch, ballot: `b${epoch}`, value });
}

/** Two account ids of one partition. */
function samePartition(prefix: string): [string, string, number] {
  const first = uniqueId(prefix);
  const p = partitionOf(first, topology.partitions);
  for (;;) {
    const other = uniqueId(prefix);
    if (partitionOf(other, topology.partitions) === p) return [first, other, p];
  }
}

async function archiveWith(
  h: Cell,
  peers: readonly Cell[],
  archive: LocalDirectoryArchive,
  homeOf: (p: number) => Promise<string | undefined>,
  id: string,
) {
  return archiveAggregate(
    {
      events: h.events,
      snapshots: snapshotsOf(h),
      archive,
      client: h.db.doc,
      eventsTable: h.db.tables.events,
      peers: peers.map(peerOf),
      topology: { region: h.region, regions: [h.region, ...peers.map((c) => c.region)], homeOf },
    },
    account,
    { aggregateId: id, retentionDays: 1, now: LATER() },
  );
}

async function scenario() {
  const [h, c, r] = await threeRegions();
  const [a1, a2, p] = samePartition('ra3-home');
  for (const id of [a1, a2]) {
    await write(h!, [c!, r!], id, open);
    for (let i = 1; i <= 4; i++) await write(h!, [c!, r!], id, deposit(i));
    await snapshotNow(h!, id);
  }
  const events = await h!.events.loadStream('account', a2);
  expect(events[0]!.partition).toBe(p);
  await entry(h!, p, 2, { home: h!.region, state: 'active', activeFrom: 0 });
  const archive = await archiveDir('ra3-home');

  // One pass: one homeOf for its life, as createArchiverHandler builds it.
  const homeOf = localHomeOf({ region: h!.region, client: h!.db.doc, controlTable: h!.db.tables.control });
  expect((await archiveWith(h!, [c!, r!], archive, homeOf, a1)).archived).toBeGreaterThan(0);

  // Switchover: fence in H's own copy, then the move to C (C is the home now).
  await entry(h!, p, 3, { home: h!.region, state: 'fenced', activeFrom: 0, reason: 'rehome' });
  await entry(h!, p, 4, { home: c!.region, state: 'active', activeFrom: 0 });

  // Control: a pass started now reads the move and leaves A2 alone.
  const fresh = localHomeOf({ region: h!.region, client: h!.db.doc, controlTable: h!.db.tables.control });
  await expect(archiveWith(h!, [c!, r!], archive, fresh, a2)).rejects.toThrow(ArchiverNotHomeError);

  // The pass that was running when the home moved.
  const outcome = await archiveWith(h!, [c!, r!], archive, homeOf, a2).then(
    (run) =>
      `archived ${run.archived} events of ${a2} though ${h!.region}'s own copy homes p at ${c!.region}`,
    (error: Error) => error.name,
  );
  const stubs = (await h!.events.loadStream('account', a2)).filter(isArchivedStub).length;
  expect({ outcome, stubs }).toEqual({ outcome: 'ArchiverNotHomeError', stubs: 0 });
}

describe('review-archiver-3: the home answer of an archive pass vs a Switchover moving the home during the pass', () => {
  it(
    'a partition fenced and moved in the region’s own copy during a pass is no longer archived by that pass',
    scenario,
  );

  it('under archiver-caches-home (no re-read before the stubs) the old home stubs the moved partition', async () => {
    await expect(withBug('archiver-caches-home', scenario)).rejects.toThrow(/deeply equal/);
  });
});
