import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { inject } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import { createApiHandler, multiRegionDeps } from '../../../lib/api/index.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import type { CommandDeps } from '../../../lib/commands/index.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { DynamoPartitionSource, type PartitionEventSource } from '../../../lib/repair/index.ts';
import {
  type ApplyReplicatedEvent,
  createApplier,
  eventStoreOriginReader,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../../../lib/replication/index.ts';
import {
  createRunbookDispatcher,
  type RegionCell,
  RUNBOOK_TASKS,
  type RunbookDeps,
} from '../../../lib/runbooks/index.ts';
import { localClients } from '../../../lib/sandbox/dynamodb/clients.ts';
import {
  AppendTimeoutError,
  createTables,
  EventStore,
  StateStore,
  tableNames,
} from '../../../lib/store/index.ts';
import { type RegionSnapshot, readSnapshot } from '../../../lib/verify/index.ts';
import { httpEvent, lambdaContext } from '../../support/http.ts';

/** Regions by distance from us-east-1 (the home the scenarios lose): eu-west-1 is always its new home. */
export const REGIONS_5 = ['us-east-1', 'eu-west-1', 'eu-central-1', 'us-west-2', 'ap-southeast-1'] as const;
export const REGIONS_3 = ['us-east-1', 'eu-west-1', 'ap-southeast-1'] as const;
const LATENCY_MS: Record<string, number> = {
  'us-east-1|eu-west-1': 37,
  'us-east-1|eu-central-1': 45,
  'us-east-1|us-west-2': 60,
  'us-east-1|ap-southeast-1': 110,
  'eu-west-1|eu-central-1': 12,
  'eu-west-1|us-west-2': 70,
  'eu-west-1|ap-southeast-1': 91,
  'eu-central-1|us-west-2': 75,
  'eu-central-1|ap-southeast-1': 85,
  'us-west-2|ap-southeast-1': 80,
};

export const LEASE_MS = 4_000;
export const SKEW_MS = 1_200;
/**
 * A budget that keeps its invariants (fencing-budget.ts) and room for DynamoDB Local on a loaded 2-core
 * machine: a write needs copy + append (2.8 s) of its lease left, so the lease must be well above that or
 * every write reads a majority first. The copy's bound is 2 s (production: 1.5 s): a first copy that
 * retires a peer's old-epoch branch (late-delivery.test) makes several transactions at that peer, and with
 * 800 ms it outlived its bound on a loaded CI machine (503 QuorumAckError from the bound, not a refusal).
 */
const FENCING = {
  leaseMs: LEASE_MS,
  skewMarginMs: SKEW_MS,
  maxClockOffsetMs: 100,
  appendTimeoutMs: 800,
  quorumCopyTimeoutMs: 2_000,
};

/** A transaction, or a put to an events table: how a quorum copy reaches a peer. */
function writesEvents(command: unknown): boolean {
  if (command instanceof TransactWriteCommand) return true;
  const table = (command as { input?: { TableName?: string } }).input?.TableName ?? '';
  return command instanceof PutCommand && table.endsWith('-events');
}

/** Links between regions that a test cuts; every cross-region DynamoDB call of the cluster crosses one. */
export class Links {
  private readonly cuts = new Set<string>();
  private readonly copyCuts = new Set<string>();
  constructor(private readonly regions: readonly string[]) {}

  /** Only writes to `b`'s events table (quorum copies) from `a` fail; its control state still answers. */
  cutCopies(a: string, b: string): void {
    this.copyCuts.add(`${a}|${b}`);
  }

  cut(a: string, b: string): void {
    this.cuts.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  isolate(region: string): void {
    for (const other of this.regions) if (other !== region) this.cut(region, other);
  }

  isCut(a: string, b: string): boolean {
    return this.cuts.has(`${a}|${b}`);
  }

  heal(): void {
    this.cuts.clear();
    this.copyCuts.clear();
  }

  /** `client` as `from` reaches it: every call fails while the link to `to` is cut. */
  client(from: string, to: string, client: DynamoDBDocumentClient): DynamoDBDocumentClient {
    if (from === to) return client;
    const send = (async (...args: Parameters<DynamoDBDocumentClient['send']>) => {
      if (this.isCut(from, to)) throw new Error(`link ${from} -> ${to} is down`);
      if (this.copyCuts.has(`${from}|${to}`) && writesEvents(args[0]))
        throw new Error(`${to} refuses copies from ${from}`);
      return (client.send as (...a: typeof args) => Promise<unknown>)(...args);
    }) as DynamoDBDocumentClient['send'];
    return new Proxy(client, {
      get: (target, property, receiver) =>
        property === 'send' ? send : Reflect.get(target, property, receiver),
    });
  }
}

export interface QuorumRegion {
  readonly name: string;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly watermarks: WatermarkStore;
  readonly apply: ApplyReplicatedEvent;
  readonly multi: ReturnType<typeof multiRegionDeps>;
  /** The command deps its API runs with (fencing and the quorum ack), e.g. for a saga's steps here. */
  readonly commands: CommandDeps;
  /** Fails the next local core append of this region once (the write's outcome is then unknown). */
  failNextAppend: boolean;
  /** Makes the next local core append land but its answer time out (AppendTimeoutError, outcome unknown). */
  loseNextAnswer: boolean;
  post(
    type: string,
    id: string,
    command: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * The cluster's time: real time plus `aheadMs`. Every region's wall clock (leases, `activeFrom`, its HLC)
 * and monotonic clock (lease ages) read it, so `passUntil` moves them all past a hold at once, as a sleep
 * with nothing running would, without the test sleeping it out: the old home's lease expires and the new
 * home's `activeFrom` passes in the code's own clocks, and the same checks decide. In-flight bounds (the
 * append timeout, the quorum copy's bound, control calls) stay real timers.
 */
export class ClusterClock {
  private aheadMs = 0;
  readonly now = (): number => Date.now() + this.aheadMs;
  readonly monotonic = (): number => performance.now() + this.aheadMs;
  /** Moves the cluster's time forward to `at` (epoch ms of `now`), if it is not there yet. */
  passUntil(at: number): void {
    this.aheadMs += Math.max(0, at - this.now());
  }
}

export interface QuorumCluster {
  readonly topology: Topology;
  /** Every region's clocks; `untilWritable(state, cluster)` moves it instead of sleeping. */
  readonly clock: ClusterClock;
  readonly regions: Record<string, QuorumRegion>;
  readonly names: readonly string[];
  readonly links: Links;
  readonly tables: ReturnType<typeof tableNames>;
  /** Delivers `from`'s log of an aggregate to `to`'s applier (the bus, by hand), in seq order. */
  replicate(from: string, to: string, type: string, id: string): Promise<void>;
  /** Runbook deps of `region`; `source` may wrap a region's partition source (a lagging index). */
  runbookDeps(
    region: string,
    options?: { source?: (region: string, source: PartitionEventSource) => PartitionEventSource },
  ): RunbookDeps;
  snapshots(regions: readonly string[]): Promise<RegionSnapshot[]>;
}

const registryFor = (topology: Topology) => createRegistry(exampleAggregates, topology);

/**
 * N regions with `core.ack: 'quorum'` (or `local`: options.ack), each with its own tables (the same names everywhere, as in AWS) in
 * the run's DynamoDB Local, its API handler wired by `multiRegionDeps` exactly as the Lambda function
 * does (ownership over every control table, the quorum ack over every peer's tables), and its applier.
 * Every cross-region call crosses `links`; replication is delivered by hand (`replicate`). `clockSkewMs`
 * sets a region's HLC wall clock ahead (or behind) of real time.
 */
export async function startQuorumCluster(
  names: readonly string[],
  options: {
    readonly clockSkewMs?: Readonly<Record<string, number>>;
    /** `core.ack` of the cluster: `quorum` unless a test asks for `local`. */
    readonly ack?: 'local' | 'quorum';
  } = {},
): Promise<QuorumCluster> {
  const topology = parseTopology({
    name: 'q',
    account: '111111111111',
    regions: names.map((name) => ({ name })),
    aggregates: [
      { type: 'account', tier: 'core' },
      { type: 'profile', tier: 'important', conflict: 'lww' },
      { type: 'activity', tier: 'ordinary' },
      { type: 'transfer', tier: 'core' },
    ],
    core: { ack: options.ack ?? 'quorum' },
    latencyMs: Object.fromEntries(
      Object.entries(LATENCY_MS).filter(([k]) => k.split('|').every((r) => names.includes(r))),
    ),
  });
  const registry = registryFor(topology);
  const env = `q${process.pid}x${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const tables = tableNames(env);
  const clients = Object.fromEntries(names.map((r) => [r, localClients(inject('dynamoEndpoint'), r)]));
  await Promise.all(names.map((r) => createTables(clients[r]!.dynamodb, env)));
  const links = new Links(names);
  const time = new ClusterClock();
  const doc = (r: string) => clients[r]!.doc;
  const eventsOf = (r: string) =>
    new EventStore({ client: doc(r), tableName: tables.events, coreMarkerTableName: tables.replication });
  const regions: Record<string, QuorumRegion> = {};
  for (const name of names) {
    const controlClients = Object.fromEntries(names.map((r) => [r, links.client(name, r, doc(r))]));
    const events = eventsOf(name);
    const states = new StateStore({ client: doc(name), tableName: tables.state });
    const replication = { client: doc(name), tableName: tables.replication };
    const watermarks = new WatermarkStore(replication);
    const skew = options.clockSkewMs?.[name] ?? 0;
    const clock = new HybridLogicalClock({ region: name, wallClock: () => time.now() + skew });
    const multi = multiRegionDeps({
      topology,
      region: name,
      controlClients,
      controlTable: tables.control,
      replicationTable: tables.replication,
      registry,
      stateTable: tables.state,
      events: { client: doc(name), tableName: tables.events },
      states,
      transport: { send: async () => ({ status: 503, headers: {}, body: '{}' }) },
      endpoints: {},
      fencing: FENCING,
      now: time.now,
      monotonic: time.monotonic,
    });
    // The local append the API makes; a test can make the next core one fail once.
    const local = Object.create(events) as EventStore;
    local.appendEvents = async (batch, options) => {
      if (options.tier === 'core' && region.failNextAppend) {
        region.failNextAppend = false;
        throw Object.assign(new Error('injected: the local append failed'), { name: 'InternalServerError' });
      }
      const appended = await events.appendEvents(batch, options);
      if (options.tier === 'core' && region.loseNextAnswer) {
        region.loseNextAnswer = false;
        throw new AppendTimeoutError(batch[0]!.aggregateId, options.timeoutMs ?? 0);
      }
      return appended;
    };
    const { fenceCoreWrite, replicateBeforeAck } = multi.api;
    const commands: CommandDeps = {
      registry,
      events: local,
      states,
      clock,
      region: name,
      partitions: topology.partitions,
      fenceCoreWrite,
      ...(replicateBeforeAck ? { replicateBeforeAck } : {}),
    };
    const region: QuorumRegion = {
      name,
      doc: doc(name),
      events,
      states,
      watermarks,
      multi,
      commands,
      failNextAppend: false,
      loseNextAnswer: false,
      apply: createApplier({
        region: name,
        topology,
        registry,
        clock,
        events,
        states,
        watermarks,
        parking: new ParkingStore(replication),
        quarantine: new QuarantineStore({ client: doc(name), tableName: tables.quarantine }),
        conflicts: new ConflictRecordStore(replication),
        originReader: eventStoreOriginReader((origin) => eventsOf(origin)),
        now: () => new Date(time.now()),
        controlTable: tables.control,
      }),
      post: async () => ({ status: 0, body: {} }),
    };
    const handler = createApiHandler({ ...commands, ...multi.api });
    region.post = async (type, id, command) => {
      const result = (await handler(
        httpEvent({ method: 'POST', path: `/v1/${type}/${id}/commands`, body: JSON.stringify(command) }),
        lambdaContext(),
      )) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode ?? 0, body: JSON.parse(String(result.body ?? '{}')) };
    };
    regions[name] = region;
  }
  const cellOf = (
    from: string,
    name: string,
    wrap?: (region: string, source: PartitionEventSource) => PartitionEventSource,
  ): RegionCell => {
    const client = links.client(from, name, doc(name));
    const source = new DynamoPartitionSource({ client, tableName: tables.events });
    const target = regions[name]!;
    return {
      region: name,
      source: wrap ? wrap(name, source) : source,
      async replay(events: readonly EventEnvelope[]) {
        if (links.isCut(from, name)) throw new Error(`link ${from} -> ${name} is down`);
        for (const event of events) await target.apply(structuredClone(event));
      },
      watermarks: () => target.watermarks.list(),
      events: new EventStore({ client, tableName: tables.events, coreMarkerTableName: tables.replication }),
      states: new StateStore({ client, tableName: tables.state }),
      conflicts: new ConflictRecordStore({ client, tableName: tables.replication }),
      tables: {
        client,
        events: tables.events,
        state: tables.state,
        replication: tables.replication,
        control: tables.control,
      },
    };
  };
  return {
    topology,
    clock: time,
    regions,
    names,
    links,
    tables,
    async replicate(from, to, type, id) {
      for (const event of await regions[from]!.events.loadStream(type, id))
        if (event.origin !== to) await regions[to]!.apply(structuredClone(event));
    },
    runbookDeps(region, options = {}) {
      const map = regions[region]!.multi.map;
      return {
        region,
        topology,
        registry,
        map,
        register: map.register,
        cell: (name) => cellOf(region, name, options.source),
        observe: async (observer, target) => ({
          reachable: !links.isCut(observer, target),
          heartbeatAgeMs: null,
        }),
        setTraffic: async () => undefined,
      };
    },
    snapshots: (list) =>
      Promise.all(
        list.map((r) =>
          readSnapshot({
            region: r,
            doc: doc(r),
            tables: {
              events: tables.events,
              state: tables.state,
              quarantine: tables.quarantine,
              replication: tables.replication,
            },
          }),
        ),
      ),
  };
}

/** Runs a runbook's tasks in the order its state machine does (the happy path). */
export async function runTasks(
  run: (request: { runbook: string; task: string; input: unknown }) => Promise<Record<string, unknown>>,
  runbook: string,
  tasks: readonly string[],
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = { ...input };
  for (const task of tasks) {
    state[task[0]!.toLowerCase() + task.slice(1)] = await run({ runbook, task, input: state });
  }
  return state;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `hook` once, right after `region`'s next local core append: the API's write is in the home's log,
 * its quorum copies not yet sent (so the hook's time does not count against the copies' timeout). What
 * the hook does happens before any copy reaches a peer.
 */
export function afterNextLocalAppend(
  cluster: QuorumCluster,
  region: string,
  hook: () => Promise<void>,
): void {
  const events = cluster.regions[region]!.events;
  const original = events.appendEvents.bind(events);
  events.appendEvents = async (batch, options) => {
    const result = await original(batch, options);
    if (options.tier === 'core') {
      events.appendEvents = original;
      await hook();
    }
    return result;
  };
}

/** The payloads of a log, in order (what the scenario tests compare). */
export const payloads = (log: ReadonlyArray<{ payload: unknown }>) => log.map((e) => e.payload);

/** Runs the Failover of `lost` task by task in `from` (as its state machine does); returns the state. */
export function runFailover(
  cluster: QuorumCluster,
  from: string,
  lost: string,
): Promise<Record<string, unknown>> {
  const run = createRunbookDispatcher(cluster.runbookDeps(from));
  return runTasks(run, 'failover', RUNBOOK_TASKS.failover, { region: lost, trigger: 'test' });
}

/**
 * Waits until a Failover's moved partitions are writable (its `writableFrom`; a Switchover's: `step`
 * 'unfence'), plus a margin: with the `cluster`, by moving the cluster's clock there (ClusterClock)
 * instead of sleeping ~5 s of real time.
 */
export async function untilWritable(
  state: Record<string, unknown>,
  cluster?: QuorumCluster,
  step: 'bumpEpochs' | 'unfence' = 'bumpEpochs',
): Promise<void> {
  const { writableFrom } = state[step] as { writableFrom: number };
  if (cluster) cluster.clock.passUntil(writableFrom + 50);
  else await sleep(Math.max(0, writableFrom - Date.now()) + 50);
}
