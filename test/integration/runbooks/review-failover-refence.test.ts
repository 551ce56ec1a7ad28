import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { type PartitionEntry, partitionOf } from '../../../lib/ownership/index.ts';
import { openFailoverRecord } from '../../../lib/runbooks/failover-record.ts';
import {
  createRunbookDispatcher,
  movePartition,
  RUNBOOK_TASKS,
  SwitchoverStateError,
} from '../../../lib/runbooks/index.ts';
import { type Cluster, command, openAccount, type RegionName, startCluster } from '../routing/cluster.ts';
import { A, B, C, failoverOfA, PARTITIONS, quorumTopology, stepped } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Adversarial review of the Failover's re-fence (partition-moves.ts `nextStep`, merged in 088f50b): a
 * Failover that finds the partition fenced by a run (a Switchover's or a switch-back's fence of the lost
 * home) fences it again at epoch + 1, unstamped, before it seals and collects. A = the lost old home, B =
 * the Switchover's target, C = the third region.
 *
 * FINDING (LOW-MEDIUM, availability; fixed here, switch `failover-seal-drops-run`): the other branch of
 * `nextStep` still takes a run's fence as the Failover's own when it names the Failover's new home (a
 * Switchover's MoveHome on the lease path: fenced, home = B, stamped, committed between ChooseNewHomes and
 * FencePartitions). CollectCopies then sealed the survivors with that entry LESS its run stamp, and a
 * replica takes the same proposal again, so every survivor's copy lost the stamp: the Switchover's Unfence
 * failed (not its entry), its Rollback left it alone, and once the Failover stopped short of BumpEpochs (a
 * failed execution, or CollectCopies blocked that partition) nobody unfenced it: a Failover re-run plans
 * only partitions homed in the lost region (this one is homed in B), and a Switchover skips a partition
 * fenced by someone else. Core writes of the partition refused until an operator edits the register. Now
 * the seal writes the committed value whole (the stamp kept): the Switchover's Unfence (or its Rollback's
 * refusal, which unfences where it is) makes B active.
 *
 * Checked safe (tests below): a Failover retried after its re-fence committed takes its own unstamped
 * fence as it is (one re-fence, not two); the Switchover's MoveHome, Unfence and Rollback all leave the
 * re-fenced entry alone and the Switchover ends rolled back with nothing restored; a Failover that stops
 * after the re-fence leaves the partition fenced in A for a re-run (which plans it: homed in A) rather
 * than for the Switchover's Rollback, which under the old rule gave it back to the lost A, active; two
 * Failovers of A at once: the second takes the first's re-fence as it is, both collect over it and the
 * partition ends active at the new home at fence epoch + 2; a Failback's switch-back moved to the returning
 * region (fenced there, stamped) when that region is lost again: fenced again, the switch-back's Unfence
 * fails, its Rollback leaves it alone, the Failover ends active at its new home.
 */
let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 400, skewMarginMs: 100 });
  return shared;
};

type Tasks = Record<string, unknown>;

/** A switchover A -> B of one partition, run task by task from B's deps (no CheckWatermark result). */
function switchover(c: Cluster, partition: number, run: string) {
  const state: Record<string, unknown> = { partitions: [partition], to: B, run: { id: run } };
  return { state, task: stepped(createRunbookDispatcher(clusterRunbookDeps(c, B)), 'switchover', state) };
}

/** A Failover of A (unreachable), task by task from C's deps under quorum ack; the partition's new home `to`. */
const failover = (c: Cluster, partition: number, to: RegionName) =>
  failoverOfA(c, partition, { to, topology: quorumTopology });

/** An account opened in A (its home) whose partition every region's log holds. */
async function accountInA(c: Cluster, prefix: string) {
  const id = c.freshId(prefix);
  expect((await command(c.cells[A], 'account', id, openAccount())).status).toBe(200);
  await c.replicate(A, B, 'account', id);
  await c.replicate(A, C, 'account', id);
  return partitionOf(id, PARTITIONS);
}

const read = (c: Cluster, partition: number) => c.cells[B].map.read(partition);
/** This partition's fenced entry in a FencePartitions result (an earlier test may leave others homed in A). */
const fencedOf = (result: Tasks, partition: number) =>
  (result.fenced as Array<{ entry: PartitionEntry }>)
    .map((f) => f.entry)
    .find((e) => e.partition === partition);
/** This partition's moves in a ChooseNewHomes result, or its BumpEpochs `moved`. */
const movesOf = (list: unknown, partition: number) =>
  (list as Array<{ partition: number }>).filter((m) => m.partition === partition);

describe('review: the Failover re-fences a run-stamped fence', { timeout: 120_000 }, () => {
  afterEach(async () => {
    disableAllBugs();
    (await shared)?.links.heal();
  });

  /**
   * Fence (A, stamped); A lost; the Failover (new home B) chooses its moves; the Switchover's MoveHome (lease
   * path: no own-copy confirmation, so the move alone) commits; FencePartitions takes that fence (home =
   * its new home) as it is; CollectCopies seals B and C with it; the Failover stops there.
   */
  async function moveFenceSealed(c: Cluster, prefix: string) {
    const partition = await accountInA(c, prefix);
    const run = `${prefix}-run`;
    const sw = switchover(c, partition, run);
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    c.links.isolate(A);
    const fo = failover(c, partition, B);
    await fo.task('ConfirmRegionLost');
    const chosen = await fo.task('ChooseNewHomes');
    expect(movesOf(chosen.moves, partition)).toEqual([{ partition, from: A, to: B }]);
    const moved = await sw.task('MoveHome');
    expect(moved.moved).toEqual([expect.objectContaining({ home: B, state: 'fenced' })]);
    const taken = fencedOf(await fo.task('FencePartitions'), partition);
    expect(taken).toMatchObject({ home: B, state: 'fenced', run, epoch: move!.fencedEpoch + 1 });
    expect(await fo.task('CollectCopies')).toMatchObject({ partitions: 1, blocked: [] });
    return { partition, run, sw, sealed: await read(c, partition) };
  }

  it('FINDING (fixed): the seal keeps the Switchover’s run stamp on the move fence the Failover took; after a Failover that stops there, the Switchover’s Unfence makes B active', async () => {
    const c = await cluster();
    const { partition, run, sw, sealed } = await moveFenceSealed(c, 'refence-seal');
    expect(sealed).toMatchObject({ home: B, state: 'fenced', run });
    const unfenced = await sw.task('Unfence');
    expect(unfenced.active).toEqual([expect.objectContaining({ home: B })]);
    expect(await read(c, partition)).toMatchObject({ home: B, state: 'active', run });
  });

  it('FINDING with failover-seal-drops-run: the seal strips the stamp; the Switchover cannot unfence, its Rollback leaves it alone, a Failover re-run does not plan it: fenced for good', async () => {
    const c = await cluster();
    const { partition, sw, sealed } = await withBug('failover-seal-drops-run', () =>
      moveFenceSealed(c, 'refence-seal-bug'),
    );
    expect(sealed).toMatchObject({ home: B, state: 'fenced' });
    expect(sealed!.run).toBeUndefined();
    await expect(sw.task('Unfence')).rejects.toBeInstanceOf(SwitchoverStateError);
    const rollback = await sw.task('Rollback');
    expect(rollback).toMatchObject({ restored: [], leftAlone: [expect.objectContaining({ partition })] });
    const again = failover(c, partition, B);
    await again.task('ConfirmRegionLost');
    expect(movesOf((await again.task('ChooseNewHomes')).moves, partition)).toEqual([]);
    expect(await read(c, partition)).toMatchObject({ home: B, state: 'fenced', epoch: sealed!.epoch });
  });

  /** Fence (A, stamped); A lost; a Failover to C through FencePartitions (the re-fence). */
  async function refenced(c: Cluster, prefix: string) {
    const partition = await accountInA(c, prefix);
    const sw = switchover(c, partition, `${prefix}-run`);
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    c.links.isolate(A);
    const fo = failover(c, partition, C);
    for (const name of ['ConfirmRegionLost', 'ChooseNewHomes'] as const) await fo.task(name);
    const own = fencedOf(await fo.task('FencePartitions'), partition);
    return { partition, sw, fo, fencedEpoch: move!.fencedEpoch, own: own! };
  }

  it('safe: the Switchover’s steps leave the re-fence alone; a retried FencePartitions takes it as it is; a Failover that stopped after it is finished by a re-run, active at C', async () => {
    const c = await cluster();
    const { partition, sw, fo, fencedEpoch, own } = await refenced(c, 'refence-retry');
    expect(own).toMatchObject({ home: A, state: 'fenced', epoch: fencedEpoch + 1 });
    expect(own.run).toBeUndefined();
    await expect(sw.task('MoveHome')).rejects.toBeInstanceOf(SwitchoverStateError);
    await expect(sw.task('Unfence')).rejects.toBeInstanceOf(SwitchoverStateError);
    const rollback = await sw.task('Rollback');
    expect(rollback).toMatchObject({ restored: [], leftAlone: [expect.objectContaining({ partition })] });
    // The task retried (its observed entry is still the Switchover's stamped fence): no second fence.
    const retried = fencedOf(await fo.task('FencePartitions'), partition);
    expect(retried).toMatchObject({ epoch: own.epoch, ballot: own.ballot });
    // The execution stops here; a new one plans the partition (homed in A) and finishes it.
    const again = failover(c, partition, C);
    for (const name of RUNBOOK_TASKS.failover) await again.task(name);
    const { moved } = again.state.bumpEpochs as { moved: Array<{ home: string; epoch: number }> };
    expect(movesOf(moved, partition)).toEqual([expect.objectContaining({ home: C, epoch: fencedEpoch + 2 })]);
    expect(await read(c, partition)).toMatchObject({ home: C, state: 'active', epoch: fencedEpoch + 2 });
  });

  it('safe: two Failovers of A at once: the second takes the first’s re-fence as it is; the partition ends active at C at fence epoch + 2', async () => {
    const c = await cluster();
    const partition = await accountInA(c, 'refence-two');
    const sw = switchover(c, partition, 'refence-two-run');
    const [move] = (await sw.task('Fence')).moves as Array<{ fencedEpoch: number }>;
    c.links.isolate(A);
    const [one, two] = [failover(c, partition, C), failover(c, partition, C)];
    for (const fo of [one, two])
      for (const name of ['ConfirmRegionLost', 'ChooseNewHomes'] as const) await fo.task(name);
    const first = fencedOf(await one.task('FencePartitions'), partition);
    const second = fencedOf(await two.task('FencePartitions'), partition);
    expect(first).toMatchObject({ home: A, state: 'fenced', epoch: move!.fencedEpoch + 1 });
    expect(second).toMatchObject({ epoch: first!.epoch, ballot: first!.ballot });
    for (const fo of [one, two]) expect(await fo.task('CollectCopies')).toMatchObject({ blocked: [] });
    for (const fo of [one, two]) await fo.task('BumpEpochs');
    for (const fo of [one, two])
      expect(movesOf((fo.state.bumpEpochs as { moved: unknown[] }).moved, partition)).toEqual([
        expect.objectContaining({ home: C, epoch: move!.fencedEpoch + 2 }),
      ]);
    expect(await read(c, partition)).toMatchObject({
      home: C,
      state: 'active',
      epoch: move!.fencedEpoch + 2,
    });
  });

  it('with failover-keeps-switchover-fence: a Failover that stopped after FencePartitions left the Switchover’s fence, and the Switchover’s Rollback gives the partition back to the lost A, active', async () => {
    const c = await cluster();
    const { partition, sw, fencedEpoch, own } = await withBug('failover-keeps-switchover-fence', () =>
      refenced(c, 'refence-old'),
    );
    expect(own).toMatchObject({ home: A, state: 'fenced', epoch: fencedEpoch });
    const rollback = await sw.task('Rollback');
    expect(rollback).toMatchObject({ restored: [expect.objectContaining({ partition, home: A })] });
    expect(await read(c, partition)).toMatchObject({ home: A, state: 'active' });
  });

  it('safe: a switch-back fence of a region lost again (moved to it, still fenced) is fenced again; the switch-back cannot unfence it, its Rollback leaves it alone, the Failover ends active at C', async () => {
    // Its own cluster: the shared one holds an open failover record of A (the re-run above), which a
    // new one would not replace.
    const c = await startCluster({ leaseMs: 400, skewMarginMs: 100 });
    const partition = await accountInA(c, 'refence-back');
    const deps = clusterRunbookDeps(c, B);
    // A's first Failover: the partition moved to C, the record open.
    await movePartition(deps, { partition, from: A, to: C });
    const moves = [{ partition, from: A, to: C }];
    await openFailoverRecord(deps.register, {
      region: A,
      trigger: 'test',
      failedOverAt: Date.now(),
      moves,
      watermarks: {},
    });
    const dispatch = createRunbookDispatcher(deps);
    const back: Record<string, unknown> = {
      region: A,
      partitions: [partition],
      switchBackRun: { id: 'refence-back-run' },
    };
    const task = async (name: (typeof RUNBOOK_TASKS.failback)[number]) => {
      const key = name[0]!.toLowerCase() + name.slice(1);
      back[key] = await dispatch({ runbook: 'failback', task: name, input: back });
      return back[key] as Tasks;
    };
    const [fence] = (await task('SwitchBackFence')).moves as Array<{ fencedEpoch: number }>;
    // The move alone (no own-copy confirmation in the state): fenced, homed in A, stamped.
    await task('SwitchBackMoveHome');
    expect(await read(c, partition)).toMatchObject({ home: A, state: 'fenced', run: 'refence-back-run' });
    c.links.isolate(A);
    const fo = failover(c, partition, C);
    for (const name of ['ConfirmRegionLost', 'ChooseNewHomes'] as const) await fo.task(name);
    const own = fencedOf(await fo.task('FencePartitions'), partition);
    expect(own).toMatchObject({ home: A, state: 'fenced', epoch: fence!.fencedEpoch + 2 });
    expect(own!.run).toBeUndefined();
    await expect(task('SwitchBackUnfence')).rejects.toBeInstanceOf(SwitchoverStateError);
    expect(await task('SwitchBackRollback')).toMatchObject({
      restored: [],
      leftAlone: [expect.objectContaining({ partition })],
    });
    for (const name of ['CollectCopies', 'BumpEpochs'] as const) await fo.task(name);
    expect(await read(c, partition)).toMatchObject({
      home: C,
      state: 'active',
      epoch: fence!.fencedEpoch + 3,
    });
  });
});
