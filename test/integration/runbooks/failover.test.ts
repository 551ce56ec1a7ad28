import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { type PartitionEntry, partitionOf } from '../../../lib/ownership/index.ts';
import { movePartitions } from '../../../lib/runbooks/failover-tasks.ts';
import {
  createRunbookDispatcher,
  type PlannedMove,
  RUNBOOK_TASKS,
  type RunbookDeps,
} from '../../../lib/runbooks/index.ts';
import {
  type Cluster,
  command,
  deposit,
  openAccount,
  type RegionName,
  sleep,
  startCluster,
} from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

const topology = bank.topology('dev');
const LOST: RegionName = 'ap-southeast-1';
const LEASE_MS = 400;
const SKEW_MS = 100;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ leaseMs: LEASE_MS, skewMarginMs: SKEW_MS });
});

/** Runbook deps of `region`; the voters see LOST down and silent. */
const runbookDeps = (region: RegionName) =>
  clusterRunbookDeps(cluster, region, async (_observer, target) => ({
    reachable: target !== LOST,
    heartbeatAgeMs: null,
  }));

type State = Record<string, unknown>;

/** The Failover machine's path when the loss is confirmed; returns the state and when each task started. */
async function failover(deps: RunbookDeps): Promise<{ state: State; startedAt: Record<string, number> }> {
  const run = createRunbookDispatcher(deps);
  const state: State = { region: LOST, trigger: 'test' };
  const startedAt: Record<string, number> = {};
  for (const task of RUNBOOK_TASKS.failover) {
    startedAt[task] = Date.now();
    state[task[0]!.toLowerCase() + task.slice(1)] = await run({ runbook: 'failover', task, input: state });
  }
  return { state, startedAt };
}

/** Opens accounts in `region` until `count` fresh partitions are homed there; returns their ids. */
async function homedIn(region: RegionName, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => cluster.freshId(`fo-${region}`));
  for (const id of ids)
    expect((await command(cluster.cells[region], 'account', id, openAccount())).status).toBe(200);
  return ids;
}

describe('Failover runbook tasks (three regions on DynamoDB Local)', () => {
  it('moves every partition of the lost region to the nearest survivor with two epochs, held back a lease', async () => {
    const lostIds = await homedIn(LOST, 5);
    const [otherId] = await homedIn('us-east-1', 1);
    const partitions = lostIds.map((id) => partitionOf(id, topology.partitions));
    const deps = runbookDeps('eu-west-1');
    const before = await deps.map.readMany(partitions);
    const untouched = await deps.map.read(partitionOf(otherId!, topology.partitions));
    // The account reached eu-west-1 before the loss (the test cluster replicates by hand).
    await cluster.replicate(LOST, 'eu-west-1', 'account', lostIds[0]!);
    cluster.links.isolate(LOST);
    try {
      const { state, startedAt } = await failover(deps);

      expect(state.confirmRegionLost).toMatchObject({ confirmed: true });
      const { moves } = state.chooseNewHomes as { moves: PlannedMove[] };
      expect(moves.map((m) => m.partition).sort()).toEqual([...partitions].sort());
      expect(new Set(moves.map((m) => m.to))).toEqual(new Set(['eu-west-1']));
      const after = await deps.map.readMany(partitions);
      for (const p of partitions) {
        const entry = after.get(p)!;
        expect(entry).toMatchObject({ home: 'eu-west-1', state: 'active', epoch: before.get(p)!.epoch + 2 });
        // Held back at least lease + skew margin from the fence (no earlier than the fence started).
        expect(entry.activeFrom).toBeGreaterThanOrEqual(startedAt.FencePartitions! + LEASE_MS + SKEW_MS);
      }
      expect(await deps.map.read(untouched!.partition)).toEqual(untouched);
      const bump = state.bumpEpochs as { moved: unknown[]; writableFrom: number };
      expect(bump.moved).toHaveLength(partitions.length);
      expect(state.recordWatermarks).toMatchObject({ record: { region: LOST, moves } });

      // The new home takes core writes once the hold is over; the cut-off old home never again.
      const [id] = lostIds;
      await sleep(Math.max(0, bump.writableFrom - Date.now()) + 50);
      expect((await command(cluster.cells['eu-west-1'], 'account', id!, deposit(5))).status).toBe(200);
      await sleep(LEASE_MS);
      expect((await command(cluster.cells[LOST], 'account', id!, deposit(5))).status).toBe(503);
    } finally {
      cluster.links.heal();
    }
  });

  it('changes nothing when run again (idempotent), and finishes a move a crashed run left fenced', async () => {
    const ids = await homedIn(LOST, 3);
    const partitions = ids.map((id) => partitionOf(id, topology.partitions));
    const deps = runbookDeps('us-east-1');
    const moves = partitions.map((partition) => ({ partition, from: LOST, to: 'eu-west-1' }));
    // A crashed run fenced the first partition and stopped.
    const first = (await deps.map.read(partitions[0]!))!;
    await deps.map.change(first.partition, first, { state: 'fenced', reason: 'rehome' });

    const moved = await movePartitions(deps, moves);
    expect(moved.map((e) => e?.home)).toEqual(['eu-west-1', 'eu-west-1', 'eu-west-1']);
    expect(moved.map((e) => e?.epoch)).toEqual([3, 3, 3]);

    // A re-run (a new execution) reports nothing new; a retry of this run's own activation reports its
    // moves again (review-failover-2-ambiguous-rehome.test.ts).
    const again = await movePartitions(deps, moves);
    expect(again).toEqual([null, null, null]);
    const entries = await deps.map.readMany(partitions);
    expect(partitions.map((p) => (entries.get(p) as PartitionEntry).epoch)).toEqual([3, 3, 3]);
  });
});
