import { type CommandRequest, executeCommand } from '../../../lib/commands/index.ts';
import type { Topology } from '../../../lib/config/index.ts';
import { policyFor } from '../../../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import {
  DynamoControlReplica,
  PartitionMap,
  partitionOf,
  QuorumRegister,
} from '../../../lib/ownership/index.ts';
import { DynamoPartitionSource } from '../../../lib/repair/index.ts';
import {
  type BranchRules,
  createRunbookDispatcher,
  movePartition,
  type RegionCell,
  type RunbookDeps,
} from '../../../lib/runbooks/index.ts';
import type { Operation } from '../../../lib/verify/index.ts';
import { readSnapshot } from '../../../lib/verify/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';

/** A runbook's view of a replication test cell: replay goes through the cell's real applier. */
export function regionCell(cell: Cell): RegionCell {
  return {
    region: cell.region,
    source: new DynamoPartitionSource({
      client: cell.db.doc,
      tableName: cell.db.tables.events,
      stateTableName: cell.db.tables.state,
    }),
    async replay(events) {
      for (const event of events) await cell.apply(structuredClone(event));
    },
    watermarks: () => cell.watermarks.list(),
    events: cell.events,
    states: cell.states,
    conflicts: cell.conflicts,
    tables: {
      client: cell.db.doc,
      events: cell.db.tables.events,
      state: cell.db.tables.state,
      replication: cell.db.tables.replication,
      control: cell.db.tables.control,
    },
  };
}

export const [A, B, C] = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;

/**
 * Three regions with the real applier (gap fetch from the origin's store), a real quorum partition map
 * over their control tables, commands fenced at the map's current epoch, and the runbook tasks.
 */
export interface BranchWorld {
  readonly topology: Topology;
  readonly cells: Record<string, Cell>;
  readonly map: PartitionMap;
  readonly deps: RunbookDeps;
  /** A fresh account id (its partition is homed in `home` by a claim). */
  account(prefix: string, home: string): Promise<{ id: string; partition: number }>;
  /** Runs a command in `region` at the partition's current epoch; records it as an acknowledged op. */
  write(region: string, id: string, command: CommandRequest['command']): Promise<EventEnvelope[]>;
  /** Delivers events to a region's applier, one by one, in the given order. */
  deliver(region: string, events: readonly EventEnvelope[]): Promise<string[]>;
  /** Moves the partition's home (fence, then move + active: what Failover's BumpEpochs commits). */
  move(partition: number, from: string, to: string): Promise<void>;
  /** Runs one task of a runbook with `state` as its whole input (the state machine's JSON). */
  task(runbook: string, name: string, state: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The acknowledged operations so far, per key (`account/<id>`), for the lib/verify checkers. */
  operations(): Map<string, Operation[]>;
  snapshots(regions: readonly string[]): ReturnType<typeof readSnapshots>;
}

function readSnapshots(cells: readonly Cell[]) {
  return Promise.all(
    cells.map((c) => readSnapshot({ region: c.region, doc: c.db.doc, tables: c.db.tables })),
  );
}

let counter = 0;

export async function branchWorld(region: string = B): Promise<BranchWorld> {
  const topology = testTopology();
  const registry = createRegistry(testAggregates, topology);
  const list: Cell[] = [];
  for (const name of [A, B, C]) list.push(await makeCell(name, { topology, peers: () => list }));
  const cells = Object.fromEntries(list.map((c) => [c.region, c]));
  const replicas = list.map(
    (c) => new DynamoControlReplica({ region: c.region, client: c.db.doc, tableName: c.db.tables.control }),
  );
  const map = new PartitionMap({
    register: new QuorumRegister({ replicas, callTimeoutMs: 2_000 }),
    leaseMs: 300,
    skewMarginMs: 50,
  });
  const deps: RunbookDeps = {
    region,
    topology,
    registry,
    map,
    register: map.register,
    cell: (name) => regionCell(cells[name]!),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  };
  const run = createRunbookDispatcher(deps);
  const ops = new Map<string, Operation[]>();
  const used = new Set<number>();
  return {
    topology,
    cells,
    map,
    deps,
    async account(prefix, home) {
      let id: string;
      do id = `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
      while (used.has(partitionOf(id, topology.partitions)));
      const partition = partitionOf(id, topology.partitions);
      used.add(partition);
      await map.claim(partition, home);
      return { id, partition };
    },
    async write(name, id, command) {
      const cell = cells[name]!;
      const result = await executeCommand(
        {
          registry,
          events: cell.events,
          states: cell.states,
          clock: cell.clock,
          region: name,
          partitions: topology.partitions,
          fenceCoreWrite: async (p) => ({ epoch: (await map.read(p))?.epoch ?? 0, guards: [] }),
        },
        { aggregateType: 'account', aggregateId: id, command },
      );
      const key = `account/${id}`;
      const list = ops.get(key) ?? [];
      const f = command.type === 'OpenAccount' ? 'open' : command.type === 'Deposit' ? 'deposit' : 'withdraw';
      const amount = (command.payload as { amount?: number } | undefined)?.amount ?? null;
      list.push({
        id: list.length,
        process: name,
        f,
        key,
        input: amount,
        outcome: 'ok',
        output: (result.state as { balance?: number }).balance ?? 0,
        invokedAt: list.length * 2,
        completedAt: list.length * 2 + 1,
        region: name,
        eventIds: result.events.map((e) => e.eventId),
      });
      ops.set(key, list);
      return result.events;
    },
    async deliver(name, events) {
      const outcomes: string[] = [];
      for (const event of events) outcomes.push((await cells[name]!.apply(structuredClone(event))).status);
      return outcomes;
    },
    async move(partition, from, to) {
      await movePartition(deps, { partition, from, to });
    },
    task: (runbook, name, state) => run({ runbook, task: name, input: state }),
    operations: () => ops,
    snapshots: (regions) => readSnapshots(regions.map((r) => cells[r]!)),
  };
}

/** Runs the Repair machine's tasks the way its Map state does (BuildTrees -> Diff -> Replay per partition). */
/**
 * A whole Repair run from `from` over the given test cells (every region of the run one of `cells`), its Map
 * items one after the other as the machine would, with the runbook tasks over the cells themselves: the
 * Report. `peers` limits the regions compared (the machine's input).
 */
export async function repairCells(from: string, cells: Cell[], partitions: number[], peers?: string[]) {
  const topology = testTopology();
  const deps = {
    region: from,
    topology: { ...topology, regions: cells.map((c) => ({ name: c.region })) },
    registry: createRegistry(testAggregates, topology),
    cell: (name: string) => regionCell(cells.find((c) => c.region === name)!),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions, ...(peers ? { peers } : {}) };
  state.listPartitions = await run({ runbook: 'repair', task: 'ListPartitions', input: state });
  const items = (state.listPartitions as { partitions: Array<Record<string, unknown>> }).partitions;
  const outputs = [];
  for (const item of items) {
    const it: Record<string, unknown> = { ...item };
    it.buildTrees = await run({ runbook: 'repair', task: 'BuildTrees', input: it });
    it.diff = await run({ runbook: 'repair', task: 'Diff', input: it });
    outputs.push(await run({ runbook: 'repair', task: 'Replay', input: it }));
  }
  state.repairPartitions = outputs;
  return (await run({ runbook: 'repair', task: 'Report', input: state })) as Record<string, unknown>;
}

export async function runRepair(world: BranchWorld, input: Record<string, unknown>) {
  const state: Record<string, unknown> = { ...input };
  state.listPartitions = await world.task('repair', 'ListPartitions', state);
  const items = (state.listPartitions as { partitions: Array<{ partition: number; peers: string[] }> })
    .partitions;
  const outputs = [];
  for (const item of items) {
    const it: Record<string, unknown> = { ...item };
    it.buildTrees = await world.task('repair', 'BuildTrees', it);
    it.diff = await world.task('repair', 'Diff', it);
    outputs.push(await world.task('repair', 'Replay', it));
  }
  state.repairPartitions = outputs;
  return world.task('repair', 'Report', state);
}

/**
 * Cells of `regions` with the real applier (each the others' peer), and the rules Repair's batched
 * delivery settles and rebuilds with: no forks, no home.
 */
export async function batchedWorld(regions: readonly string[]) {
  const topology = testTopology();
  const registry = createRegistry(testAggregates, topology);
  const cells: Cell[] = [];
  for (const name of regions) cells.push(await makeCell(name, { topology, peers: () => cells }));
  const branches: BranchRules = {
    aggregate: (type) => registry.get(type),
    registry,
    policy: (aggregate) => policyFor(aggregate, topology),
    ownerOf: async () => ({ home: undefined }),
  };
  return { topology, registry, cells, branches };
}
