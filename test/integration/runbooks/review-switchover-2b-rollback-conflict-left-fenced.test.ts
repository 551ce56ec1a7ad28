import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  type PartitionEntry,
  type PartitionMap,
  type PartitionValue,
  partitionKey,
  partitionOf,
  type RegisterRecord,
} from '../../../lib/ownership/index.ts';
import { expectStatus } from '../../support/answers.ts';
import { type Cell, type Cluster, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { moveAtOnce, PARTITIONS, runbookSteps } from './switchover-steps.ts';

/**
 * Review of i15-switchover-2 fixes (797d1af), failing by design: Rollback leaves a partition fenced by its
 * own run and reports success.
 *
 * `rollbackMove` catches EntryChangedError AND EpochConflictError from anything inside `moveBack` and answers
 * "left-alone: changed by someone else during the rollback" without checking who changed it. But an
 * EpochConflictError only says this one compare-and-set did not reach a majority (some replica refused it:
 * it holds another proposal at that epoch): the entry may still be this run's own fence, or this run's own
 * move completed later by a reader. Unlike Fence (`fenceRequested` re-reads and decides again), Rollback
 * never re-decides, so the Rollback task SUCCEEDS (the machine does not retry it) and nobody ever unfences.
 *
 * Interleaving (R1: Switchover A -> B, cooperative, then its Rollback; runbook in region C):
 * 1. R1 moves the partition to B at once ("B, active, R1", epoch e); a later step fails, Rollback starts.
 * 2. Rollback reads its own entry, fences it ("B, fenced, R1", e+1), waits lease + skew, finds A holds
 *    everything B holds, and calls movePartitionHome(A): it reads "B, fenced, R1" (e+1) ...
 * 3. ... and meanwhile a stray proposal at e+2 sits on B's control replica (an operator's fence whose
 *    writer died after one replica, or any proposal that lost its round), and C's link to A's replica is
 *    down for a moment.
 * 4. The move's compare-and-set at e+2: A unreachable, B refuses (it holds the stray), C accepts: 1 ack,
 *    1 refusal -> EpochConflictError -> caught -> "left-alone". The link comes back.
 * 5. Rollback's own re-read (and any later reader) completes the highest-ballot proposal at e+2, which is
 *    R1's own move: the committed entry is "A, fenced, R1". The Rollback task returned success: the
 *    partition is fenced (no region accepts its core writes) with nobody left to unfence it.
 * Severity MEDIUM (liveness: a partition unwritable until an operator notices; no write lost).
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const C: RegionName = 'ap-southeast-1';

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 1_500, skewMarginMs: 500 });
  return shared;
};

/** `map` whose change moving the partition home to `to` first runs `before`, and `after` once it settled. */
function conflictedMove(
  map: PartitionMap,
  to: string,
  hooks: {
    before: (current: PartitionEntry) => Promise<void>;
    after: (current: PartitionEntry) => Promise<void>;
  },
): PartitionMap {
  let pending = true;
  const raced = Object.create(map) as PartitionMap;
  raced.change = async (partition, current, change) => {
    if (!pending || change.home !== to || !current) return map.change(partition, current, change);
    pending = false;
    await hooks.before(current);
    try {
      return await map.change(partition, current, change);
    } finally {
      await hooks.after(current);
    }
  };
  return raced;
}

/** Waits until `cell`'s own control replica holds a record of the partition that `held` accepts. */
async function untilHeld(
  cell: Cell,
  partition: number,
  held: (record: RegisterRecord<PartitionValue>) => boolean,
): Promise<void> {
  for (let poll = 0; poll < 2_000; poll++) {
    const record = await cell.replica.read<PartitionValue>(partitionKey(partition));
    if (record && held(record)) return;
    await sleep(5);
  }
  throw new Error(`${cell.name}'s replica never held the expected record of partition ${partition}`);
}

/** The interleaving above; returns what Rollback answered and the entry after it. */
async function scenario(c: Cluster) {
  const accounts = new CheckedAccounts(c);
  const id = c.freshId('rb-conflict');
  const partition = partitionOf(id, PARTITIONS);
  expectStatus(await accounts.open(A, id), 200);
  expectStatus(await accounts.deposit(A, id, 10), 200);
  await c.replicate(A, B, 'account', id);

  const run = `r1-${id}`;
  let strayPlaced = false;
  const map = conflictedMove(c.cells[C].map, A, {
    before: async (current) => {
      // A proposal at e+2 that never reached a majority, on B's replica only (lowest ballot: it loses).
      const value: PartitionValue = {
        home: current.home,
        state: 'fenced',
        activeFrom: current.activeFrom,
        reason: 'operator',
      };
      const stray = { epoch: current.epoch + 1, ballot: '00000000000000000000000000', value };
      strayPlaced = await c.cells[B].replica.write(partitionKey(partition), stray);
      c.links.cut(C, A);
    },
    after: async (current) => {
      // Step 4's "C accepts" must have happened before the link comes back. The compare-and-set answers as
      // soon as a majority is out of reach (A down, B refused), with C's write still in flight; on a loaded
      // machine the Rollback's re-read could then reach C first, find the stray alone at e+2 and complete it
      // (A and B: a majority), a legal outcome of the register but not this scenario's interleaving.
      await untilHeld(c.cells[C], partition, (r) => r.epoch === current.epoch + 1 && r.value.run === run);
      c.links.heal();
    },
  });
  const rb = runbookSteps(c, C, { deps: { map } });
  await moveAtOnce(c, rb, { id, to: B, run });

  const rollback = await rb.task('Rollback');
  expect(strayPlaced).toBe(true);
  const entry = await c.cells[A].map.read(partition);
  // Before the fix: the Rollback answered left-alone and the entry was R1's own fence.
  const report = { rollback, entry: { home: entry?.home, state: entry?.state, run: entry?.run } };
  return { run, ...report };
}

describe('review switchover-2b: a Rollback whose move loses one compare-and-set', () => {
  afterEach(() => disableAllBugs());

  it('does not report success while the partition stays fenced by its own run', async () => {
    const report = await scenario(await cluster());
    // Invariant: an execution that ends without error leaves no partition fenced by its own run.
    expect(report.entry, JSON.stringify(report)).not.toEqual(
      expect.objectContaining({ state: 'fenced', run: report.run }),
    );
    // Re-read after the lost compare-and-set: its own move back had completed, so it unfenced at A.
    expect(report.rollback).toEqual(
      expect.objectContaining({ restored: [expect.objectContaining({ home: A })], leftAlone: [] }),
    );
  });

  it('with rollback-conflict-left-alone: Rollback answers left-alone and the partition stays fenced by its run', async () => {
    const c = await cluster();
    const report = await withBug('rollback-conflict-left-alone', () => scenario(c));
    expect(report.entry, JSON.stringify(report)).toEqual(
      expect.objectContaining({ state: 'fenced', run: report.run }),
    );
  });
});
