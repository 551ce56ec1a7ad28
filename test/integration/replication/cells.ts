import { account, activity, type ProfileState, profile } from '../../../examples/bank/index.ts';
import type { InternalKey } from '../../../lib/auth/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { type CommandRequest, executeCommand } from '../../../lib/commands/index.ts';
import { parseTopology, type Topology, type TopologyInput } from '../../../lib/config/index.ts';
import {
  type ConflictNotifier,
  type ConflictRecord,
  ConflictRecordStore,
} from '../../../lib/conflict/index.ts';
import { type AnyAggregate, createRegistry, defineAggregate } from '../../../lib/model/index.ts';
import {
  type ApplyReplicatedEvent,
  createApplier,
  eventStoreOriginReader,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../../../lib/replication/index.ts';
import { EventStore, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;

/** Profile clones under the other two policies (same events, same merge). */
export const profileRule = defineAggregate<ProfileState>({
  ...profile,
  name: 'profile-rule',
  conflict: { ...profile.conflict!, policy: 'rule' },
});
export const profileManual = defineAggregate<ProfileState>({
  ...profile,
  name: 'profile-manual',
  conflict: { ...profile.conflict!, policy: 'manual' },
});

export const testAggregates: AnyAggregate[] = [account, profile, profileRule, profileManual, activity];

export function testTopology(overrides: Partial<TopologyInput> = {}): Topology {
  return parseTopology({
    name: 'test',
    account: '111111111111',
    regions: REGIONS.map((name) => ({ name })),
    aggregates: [
      { type: 'account', tier: 'core' },
      { type: 'profile', tier: 'important', conflict: 'lww' },
      { type: 'profile-rule', tier: 'important', conflict: 'rule' },
      { type: 'profile-manual', tier: 'important', conflict: 'manual' },
      { type: 'activity', tier: 'ordinary' },
    ],
    ...overrides,
  });
}

/** One region's stores, clock, applier and command executor over its own fresh tables. */
export interface Cell {
  readonly region: string;
  readonly db: TestRegion;
  readonly clock: HybridLogicalClock;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly watermarks: WatermarkStore;
  readonly parking: ParkingStore;
  readonly quarantine: QuarantineStore;
  readonly conflicts: ConflictRecordStore;
  readonly detected: ConflictRecord[];
  apply: ApplyReplicatedEvent;
  execute(request: CommandRequest): ReturnType<typeof executeCommand>;
}

export interface CellOptions {
  readonly topology?: Topology;
  /** Skew of this region's wall clock in ms. */
  readonly skewMs?: number;
  readonly now?: () => Date;
  /** Other cells, for the origin reader (looked up lazily). */
  readonly peers?: () => readonly Cell[];
  /** The environment's internal key: the applier then refuses events not signed with it. */
  readonly eventKey?: InternalKey;
  /** The application's aggregates (default: the example bank's, `testAggregates`), matching `topology`. */
  readonly aggregates?: readonly AnyAggregate[];
}

export async function makeCell(region: string, options: CellOptions = {}): Promise<Cell> {
  const topology = options.topology ?? testTopology();
  const db = await freshRegion(region);
  const registry = createRegistry(options.aggregates ?? testAggregates, topology);
  const skew = options.skewMs ?? 0;
  const clock = new HybridLogicalClock({ region, wallClock: () => Date.now() + skew });
  const events = new EventStore({
    client: db.doc,
    tableName: db.tables.events,
    coreMarkerTableName: db.tables.replication,
  });
  const states = new StateStore({ client: db.doc, tableName: db.tables.state });
  const replication = { client: db.doc, tableName: db.tables.replication };
  const watermarks = new WatermarkStore(replication);
  const parking = new ParkingStore(replication);
  const conflicts = new ConflictRecordStore(replication);
  const quarantine = new QuarantineStore({ client: db.doc, tableName: db.tables.quarantine });
  const detected: ConflictRecord[] = [];
  const notifier: ConflictNotifier = { conflictDetected: async (record) => void detected.push(record) };
  const originReader = eventStoreOriginReader((origin) => {
    const peer = options.peers?.().find((c) => c.region === origin);
    if (!peer) throw new Error(`no cell for ${origin}`);
    return peer.events;
  });
  const apply = createApplier({
    region,
    topology,
    registry,
    clock,
    events,
    states,
    watermarks,
    parking,
    quarantine,
    conflicts,
    notifier,
    originReader,
    controlTable: db.tables.control,
    ...(options.now ? { now: options.now } : {}),
    ...(options.eventKey ? { eventKey: options.eventKey } : {}),
  });
  const commandDeps = { registry, events, states, clock, region, partitions: topology.partitions };
  return {
    region,
    db,
    clock,
    events,
    states,
    watermarks,
    parking,
    quarantine,
    conflicts,
    detected,
    apply,
    execute: (request) => executeCommand(commandDeps, request),
  };
}

/** East (a plain cell) and west (whose wall clock is `now`), each reading gaps from the other. */
export async function eastAndWest(now: () => Date): Promise<{ east: Cell; west: Cell }> {
  const cells: Cell[] = [];
  const east = await makeCell('us-east-1', { peers: () => cells });
  const west = await makeCell('eu-west-1', { peers: () => cells, now });
  cells.push(east, west);
  return { east, west };
}

let ids = 0;

/** An aggregate id no other test of this run uses. */
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++ids}`;

/** Command requests for an account (core) of the example app. */
export const accountCommands = {
  open: (id: string) => ({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
  }),
  deposit: (id: string, amount: number) => ({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'Deposit', payload: { amount } },
  }),
};
