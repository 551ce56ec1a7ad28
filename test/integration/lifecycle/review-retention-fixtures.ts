import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { account } from '../../../examples/bank/index.ts';
import {
  archiveAggregate,
  LocalDirectoryArchive,
  type PeerWatermarks,
  SnapshotStore,
  snapshotOf,
} from '../../../lib/lifecycle/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { createRunbookDispatcher, type RegionCell, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cell, makeCell, REGIONS, testAggregates, testTopology } from '../replication/cells.ts';
import { regionCell } from '../runbooks/branch-cells.ts';

/** Shared set-up of the adversarial review of issue 17's retention (test files review-retention-*.test.ts). */

export const DAY = 86_400_000;
/** Two days from now: with retentionDays 1, every event written by the test is past the horizon. */
export const LATER = () => Date.now() + 2 * DAY;
export const topology = testTopology();
export const registry = createRegistry(testAggregates, topology);

/** Three regions in topology order (H first), each with the real applier; gaps are fetched from the origin. */
export async function threeRegions(): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const region of REGIONS) cells.push(await makeCell(region, { topology, peers: () => cells }));
  return cells;
}

export const open = { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } };
export const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

/** A write at `from`, applied synchronously at every cell of `to`; its events. */
export async function write(from: Cell, to: readonly Cell[], id: string, command: object) {
  const { events } = await from.execute({ aggregateType: 'account', aggregateId: id, command } as never);
  for (const cell of to) for (const event of events) await cell.apply(structuredClone(event));
  return events;
}

export function snapshotsOf(cell: Cell): SnapshotStore {
  return new SnapshotStore({ client: cell.db.doc, tableName: cell.db.tables.snapshots });
}

/** The home's snapshot of its current row (what its snapshot writer stores at a multiple of snapshotEvery). */
export async function snapshotNow(cell: Cell, id: string): Promise<void> {
  const row = (await cell.states.getState('account', id))!;
  const last = (await cell.events.loadStream('account', id)).find((e) => e.seq === row.seq)!;
  await snapshotsOf(cell).put(snapshotOf(account, row, last));
}

/** A peer as the archiver sees it: its watermarks and its log, both read strongly. */
export function peerOf(cell: Cell): PeerWatermarks {
  return {
    region: cell.region,
    watermarkFor: (origin) => cell.watermarks.watermarkFor(origin),
    logOf: (type, id) => cell.events.loadStream(type, id),
  };
}

export async function archiveDir(name: string): Promise<LocalDirectoryArchive> {
  return new LocalDirectoryArchive(join(await mkdtemp(join(tmpdir(), `review-retention-${name}-`)), 'a'));
}

/** Runs the archiver at `home` for one account, gated on `peers` (watermarks and logs). */
export async function archiveAt(
  home: Cell,
  archive: LocalDirectoryArchive,
  peers: readonly Cell[],
  id: string,
  now = LATER(),
) {
  return archiveAggregate(
    {
      events: home.events,
      snapshots: snapshotsOf(home),
      archive,
      client: home.db.doc,
      eventsTable: home.db.tables.events,
      peers: peers.map(peerOf),
      topology: { region: home.region, regions: [home.region, ...peers.map((p) => p.region)] },
    },
    account,
    { aggregateId: id, retentionDays: 1, now },
  );
}

/** A runbook cell with its region's snapshots, as the sandbox wires it (no archive: not wired yet). */
export function withSnapshots(cell: Cell): RegionCell {
  return { ...regionCell(cell), snapshots: snapshotsOf(cell) };
}

/** Repair run from `from` the way the Repair machine's Map runs it: every task, in order; its Report. */
export async function repairFrom(
  cells: readonly Cell[],
  from: string,
  partitions: number[],
  cellOf: (cell: Cell) => RegionCell = withSnapshots,
  withRegistry: typeof registry = registry,
): Promise<Record<string, unknown>> {
  const deps = {
    region: from,
    topology,
    registry: withRegistry,
    cell: (name: string) => cellOf(cells.find((c) => c.region === name)!),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions };
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
  return run({ runbook: 'repair', task: 'Report', input: state });
}

export const idsOf = (log: readonly EventEnvelope[]) => log.map((e) => e.eventId);
