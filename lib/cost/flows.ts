import { regionNames, type Tier, type Topology } from '../config/index.ts';
import { type AggregateTraffic, regionShares, type SagaTraffic, type TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type FunctionName, type Runtime } from './runtime.ts';
import { confirmedSaga, type SagaShape, type SagaShapes } from './sagas.ts';

/** One aggregate type's traffic in one region, per second. */
export interface TypeFlow {
  readonly type: string;
  readonly tier: Tier;
  readonly traffic: AggregateTraffic;
  /** Client writes reaching this region's API. */
  readonly writesArriving: number;
  /** Commands executed here (core: at the partition's home). */
  readonly writesExecuted: number;
  /** Core writes this region forwards to their home, and those forwarded here. */
  readonly forwardedOut: number;
  readonly forwardedIn: number;
  readonly reads: number;
  readonly tokenReads: number;
  /** Commands run through Powertools idempotency (keyed ones, and every forwarded write at the home). */
  readonly idempotent: number;
  readonly eventsOriginated: number;
  /** Peers' events the applier appends here (the normal path). */
  readonly eventsApplied: number;
  /** core.ack quorum: peers' events the applier finds already stored by their quorum-ack copy. */
  readonly appliedAfterCopy: number;
  /** core.ack quorum: copy transactions this home sends (one per command and peer). */
  readonly copiesOut: number;
  /** core.ack quorum: peers' events their homes copied into this region's log. */
  readonly eventsCopiedIn: number;
  /** Core partitions homed here, and the other active ones (reached by forwarding). */
  readonly partitionsHomed: number;
  readonly partitionsElsewhere: number;
  /** core.ack quorum for this type: every core write here is copied into each peer's log. */
  readonly quorum: boolean;
  /** What the sagas (transfers) do with this type here. */
  readonly saga: SagaPart;
}

/** One region's saga work on one aggregate type, per second (sagas are priced as confirmed). */
export interface SagaPart {
  /** `POST /v1/<route>` reaching this region's API (the saga's own type), those it forwards to the home, those forwarded here. */
  readonly arriving: number;
  readonly forwardedOut: number;
  readonly forwardedIn: number;
  /** Sagas begun here (this region is their home): the API's begin and its BeginSaga write. */
  readonly begun: number;
  /** Participants of each saga (the begin's dry run reads their rows). */
  readonly participants: number;
  /** Core writes of this type the saga function makes here, by events per write. */
  readonly writes: ReadonlyArray<{ readonly events: number; readonly rate: number }>;
  /** Participant steps of this type the saga function forwards to a peer's API, and those forwarded here (keyed, one event). */
  readonly stepsOut: number;
  readonly stepsIn: number;
  /** Saga function tasks (each loads the saga) and Standard state transitions here. */
  readonly tasks: number;
  readonly transitions: number;
}

const NO_SAGA: SagaPart = {
  arriving: 0,
  forwardedOut: 0,
  forwardedIn: 0,
  begun: 0,
  participants: 0,
  writes: [],
  stepsOut: 0,
  stepsIn: 0,
  tasks: 0,
  transitions: 0,
};

/** Events a region's saga work on a type appends. */
export const sagaEvents = (p: SagaPart) => p.begun + p.stepsIn + sum(p.writes.map((w) => w.events * w.rate));
/** Core writes a region's API executes for the sagas (begins, forwarded steps). */
export const sagaApiWrites = (p: SagaPart) => p.begun + p.stepsIn;
/** API invocations of a region's saga work: begins arriving and forwarded here, forwarded steps. */
export const sagaApiInvocations = (p: SagaPart) => p.arriving + p.forwardedIn + p.stepsIn;

/** Everything the model needs to know about one region's load, per second. */
export interface RegionFlow {
  readonly region: string;
  readonly peers: readonly string[];
  readonly types: readonly TypeFlow[];
  /** API invocations: client writes and reads, and core writes forwarded here. */
  readonly apiInvocations: number;
  /** /health invocations: Route 53's checkers and the peers' watchdogs. */
  readonly healthInvocations: number;
  readonly instances: Readonly<Record<FunctionName, number>>;
  /** Majority reads of partition entries by the API: for core writes at the home, and to find a home. */
  readonly fenceRefreshes: number;
  readonly routeRefreshes: number;
  /** The API's sync breakers re-reading lag (important writes consult them). */
  readonly syncRefreshes: number;
  /** The health function's cached parts: verdict probe, sync breakers, traffic register. */
  readonly healthProbes: number;
  readonly healthSyncRefreshes: number;
  readonly trafficRefreshes: number;
  readonly heartbeats: number;
  readonly heartbeatsIn: number;
  /** The ordinary lane (undefined when off): ordinary events reach the applier in batches. */
  readonly lane?: { readonly batchSize: number; readonly windowMs: number };
  /** The saga function's own lease re-reads (AWS; in the sandbox it shares the API's). */
  readonly sagaFenceRefreshes: number;
  readonly sagaRouteRefreshes: number;
  /** Recovery sweeps of the sagas. */
  readonly sagaSweeps: number;
  /** Sweeps of parked core events: on a heartbeat's arrival, at most once per `heartbeatIntervalMs` per applier instance. */
  readonly sweeps: number;
  readonly watchdogTicks: number;
  /** Entries this region publishes: its events and heartbeats. */
  readonly localEvents: number;
  readonly published: number;
  /** Applier invocations: every peer's events and heartbeats. */
  readonly inbound: number;
  readonly streamRecords: number;
  readonly streamShards: number;
  readonly publisher: PublisherLoad;
  /** Share of applied events whose row this applier instance holds (no GetItem). */
  readonly cacheHitRate: number;
}

/** Stream batches of the publisher per second, and what they carry. */
export interface PublisherLoad {
  readonly batches: number;
  /** Batches with local entries (events or heartbeats): PutEvents calls follow. */
  readonly withLocal: number;
  /** Batches with local events: the publish holds are read once per such batch. */
  readonly withEvents: number;
  readonly putEventsCalls: number;
  /** Home rows read to catch them up with the log (HomeRows): one per core aggregate written per batch. */
  readonly coreRowReads: number;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Re-reads per second of a value cached for `ageMs` and read again at the first use after that, for uses
 * arriving at `rate` (Poisson): the cache lives `ageMs` plus the wait for the next use.
 */
export function renewals(rate: number, ageMs: number): number {
  return rate > 0 ? 1 / (ageMs / 1000 + 1 / rate) : 0;
}

/** Core writes executed at `home`, from the writes arriving everywhere (a forwarded write goes to a home elsewhere). */
function executedAtHome(
  home: string,
  arriving: Record<string, number>,
  shares: Record<string, number>,
  f: number,
) {
  let executed = 0;
  for (const [from, rate] of Object.entries(arriving)) {
    if (from === home) executed += rate * (1 - f);
    else if (shares[from]! < 1) executed += rate * f * (shares[home]! / (1 - shares[from]!));
  }
  return executed;
}

const NO_TRAFFIC: AggregateTraffic = {
  writesPerSecond: 0,
  readsPerSecond: 0,
  eventsPerWrite: 1,
  eventBytes: 600,
  stateBytes: 800,
};

interface Base {
  readonly type: string;
  readonly tier: Tier;
  readonly traffic: AggregateTraffic;
  readonly arriving: Record<string, number>;
  readonly executed: Record<string, number>;
  /** Saga work per region, and the events each region appends (client writes and sagas). */
  readonly saga: Record<string, SagaPart>;
  readonly events: Record<string, number>;
}

type MutablePart = { -readonly [K in Exclude<keyof SagaPart, 'writes'>]: SagaPart[K] } & {
  writes: Array<{ events: number; rate: number }>;
};

type Parts = Map<string, Record<string, MutablePart>>;

function partOf(parts: Parts, type: string, region: string): MutablePart {
  const byRegion = parts.get(type) ?? {};
  parts.set(type, byRegion);
  byRegion[region] ??= { ...NO_SAGA, writes: [] };
  return byRegion[region];
}

function addWrite(p: MutablePart, events: number, rate: number): void {
  if (rate <= 0) return;
  const same = p.writes.find((w) => w.events === events);
  if (same) same.rate += rate;
  else p.writes.push({ events, rate });
}

/** The saga work of `begun` sagas a second homed at `home`: its tasks, its writes, its forwarded steps. */
function sagasAtHome(
  parts: Parts,
  input: {
    shape: SagaShape;
    home: string;
    begun: number;
    traffic: SagaTraffic;
    shares: Record<string, number>;
  },
): void {
  const { shape, home, begun, traffic, shares } = input;
  const name = shape.name;
  const run = confirmedSaga(shape);
  const own = partOf(parts, name, home);
  own.begun += begun;
  own.participants = run.participants;
  own.tasks += begun * run.tasks;
  own.transitions += begun * run.transitions;
  const peers = Object.keys(shares).filter((r) => r !== home);
  const elsewhere = 1 - shares[home]!;
  for (const w of run.writes.filter((write) => write.by !== 'begin')) {
    const rate = begun * w.count;
    const away = w.movable ? traffic.crossRegionShare : 0;
    addWrite(partOf(parts, w.aggregateType, home), w.events, rate * (1 - away));
    if (rate * away === 0) continue;
    partOf(parts, w.aggregateType, home).stepsOut += rate * away;
    for (const peer of peers)
      partOf(parts, w.aggregateType, peer).stepsIn +=
        rate * away * (elsewhere > 0 ? shares[peer]! / elsewhere : 1 / peers.length);
  }
}

/**
 * Every region's saga work per aggregate type: sagas begin at their home (the co-located participant's,
 * reached like any core write), the saga function there runs every step (`confirmedSaga`), and a
 * participant step not co-located goes to a peer's API for the cross-region share (its home spread over
 * the peers by their shares of the partitions).
 */
function sagaParts(topology: Topology, profile: TrafficProfile, sagas: SagaShapes): Parts {
  const shares = regionShares(profile, topology);
  const regions = regionNames(topology);
  const parts: Parts = new Map();
  const f = profile.coreForwardShare;
  for (const [name, traffic] of Object.entries(profile.sagas)) {
    const shape = sagas[name];
    if (!shape || traffic.perSecond === 0) continue;
    const arriving = Object.fromEntries(regions.map((r) => [r, traffic.perSecond * shares[r]!]));
    for (const home of regions) {
      const begun = executedAtHome(home, arriving, shares, f);
      const own = partOf(parts, name, home);
      own.arriving += arriving[home]!;
      own.forwardedOut += arriving[home]! * f;
      own.forwardedIn += begun - arriving[home]! * (1 - f);
      sagasAtHome(parts, { shape, home, begun, traffic, shares });
    }
  }
  return parts;
}

function baseFlows(topology: Topology, profile: TrafficProfile, shapes: SagaShapes): Base[] {
  const shares = regionShares(profile, topology);
  const regions = regionNames(topology);
  const sagas = sagaParts(topology, profile, shapes);
  return topology.aggregates.map((aggregate) => {
    const traffic = profile.aggregates[aggregate.type] ?? NO_TRAFFIC;
    const arriving = Object.fromEntries(regions.map((r) => [r, traffic.writesPerSecond * shares[r]!]));
    const f = aggregate.tier === 'core' ? profile.coreForwardShare : 0;
    const executed = Object.fromEntries(regions.map((r) => [r, executedAtHome(r, arriving, shares, f)]));
    const saga = Object.fromEntries(
      regions.map((r): [string, SagaPart] => [r, sagas.get(aggregate.type)?.[r] ?? NO_SAGA]),
    );
    const events = Object.fromEntries(
      regions.map((r) => [r, executed[r]! * traffic.eventsPerWrite + sagaEvents(saga[r]!)]),
    );
    return { type: aggregate.type, tier: aggregate.tier, traffic, arriving, executed, saga, events };
  });
}

function typeFlow(input: {
  base: Base;
  region: string;
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
}): TypeFlow {
  const { base, region, topology, profile, runtime } = input;
  const share = regionShares(profile, topology)[region]!;
  const core = base.tier === 'core';
  const quorum = core && topology.core.ack === 'quorum';
  const peers = regionNames(topology).filter((r) => r !== region);
  const writesArriving = base.arriving[region]!;
  const writesExecuted = base.executed[region]!;
  const forwardedOut = core ? writesArriving * profile.coreForwardShare : 0;
  const forwardedIn = core ? writesExecuted - writesArriving * (1 - profile.coreForwardShare) : 0;
  const fromPeers = sum(peers.map((peer) => base.events[peer]!));
  const saga = base.saga[region]!;
  const afterCopy = quorum ? fromPeers * runtime.copyFirstShare : 0;
  const partitions = profile.activePartitions ?? topology.partitions;
  const reads = base.traffic.readsPerSecond * share;
  return {
    type: base.type,
    tier: base.tier,
    traffic: base.traffic,
    writesArriving,
    writesExecuted,
    forwardedOut,
    forwardedIn,
    reads,
    tokenReads: reads * profile.tokenReadShare,
    idempotent: writesExecuted * profile.idempotencyKeyShare + forwardedIn,
    eventsOriginated: base.events[region]!,
    eventsApplied: fromPeers - afterCopy,
    appliedAfterCopy: afterCopy,
    copiesOut: quorum ? writesExecuted * peers.length : 0,
    eventsCopiedIn: quorum ? fromPeers : 0,
    partitionsHomed: core ? partitions * share : 0,
    partitionsElsewhere: core ? partitions * (1 - share) : 0,
    quorum,
    saga,
  };
}

/**
 * Stream batches a second: each shard is polled every `pollMs` and delivers what accumulated (at most a
 * batch); arrivals are taken as Poisson, so a poll finds something with probability 1 - e^(-rate x period).
 */
function publisherLoad(
  rates: { records: number; local: number; events: number; coreEvents: number },
  shards: number,
  runtime: Runtime,
): PublisherLoad {
  const t = runtime.streamPollMs / 1000;
  const polled = (rate: number) => {
    const perShard = rate / shards;
    return perShard > 0 ? shards * Math.max((1 - Math.exp(-perShard * t)) / t, perShard / 100) : 0;
  };
  const withLocal = polled(rates.local);
  return {
    batches: polled(rates.records),
    withLocal,
    withEvents: polled(rates.events),
    // A batch's local entries go out in calls of at most ten (PutEvents' limit).
    putEventsCalls: Math.max(withLocal, rates.local / 10),
    // At most one per batch and aggregate: at these rates, one per core write.
    coreRowReads: rates.coreEvents,
  };
}

/** Duration of one invocation of each function, ms, from the profile (scheduled ones from the runtime). */
export function durationsOf(profile: TrafficProfile, runtime: Runtime): Record<FunctionName, number> {
  const d = profile.durationsMs;
  return {
    api: d.api,
    health: d.health,
    publisher: d.publisher,
    applier: d.applier,
    runbook: d.runbookTask,
    'lag-monitor': runtime.scheduled['lag-monitor'].seconds * 1000,
    watchdog: runtime.scheduled.watchdog.seconds * 1000,
    readiness: runtime.scheduled.readiness.seconds * 1000,
    saga: d.sagaTask,
  };
}

/** Warm instances per function: the runtime's, else Little's law (rate x duration), at least one. */
function instancesOf(
  rates: { api: number; health: number; applier: number; publisher: number; saga: number },
  durations: Record<FunctionName, number>,
  runtime: Runtime,
): Record<FunctionName, number> {
  const concurrency = (fn: keyof typeof rates) =>
    runtime.instances?.[fn] ?? Math.max(1, Math.ceil((rates[fn] * durations[fn]) / 1000));
  return {
    api: concurrency('api'),
    health: concurrency('health'),
    applier: concurrency('applier'),
    publisher: concurrency('publisher'),
    saga: concurrency('saga'),
    'lag-monitor': 1,
    runbook: 1,
    watchdog: 1,
    readiness: 1,
  };
}

/** Core writes at their home, and core writes forwarded to one, per second: the API's and the saga function's. */
function coreRates(types: readonly TypeFlow[]) {
  const core = types.filter((t) => t.tier === 'core');
  return {
    api: {
      atHome: sum(core.map((t) => t.writesExecuted + sagaApiWrites(t.saga))),
      routed: sum(core.map((t) => t.forwardedOut + t.saga.forwardedOut)),
    },
    saga: {
      atHome: sum(core.map((t) => sum(t.saga.writes.map((w) => w.rate)))),
      routed: sum(core.map((t) => t.saga.stepsOut)),
    },
  };
}

/** Majority reads of partition entries per second by one set of instances (a function's) for their core writes. */
function leaseRefreshes(
  types: readonly TypeFlow[],
  instances: number,
  rates: { atHome: number; routed: number },
  runtime: Runtime,
) {
  const core = types.filter((t) => t.tier === 'core');
  const homed = Math.max(...core.map((t) => t.partitionsHomed), 0);
  const elsewhere = Math.max(...core.map((t) => t.partitionsElsewhere), 0);
  const { atHome, routed } = rates;
  const per = (partitions: number, rate: number, ageMs: number) =>
    partitions > 0 ? instances * partitions * renewals(rate / (instances * partitions), ageMs) : 0;
  return {
    fence: per(homed, atHome, runtime.fenceRefreshAgeMs),
    route: per(elsewhere, routed, runtime.routeRefreshAgeMs),
  };
}

/**
 * Re-reads of the watermarks by the sync breakers: the API's (important writes consult them) and the
 * health function's (its report); one shared cache when both run in one process, each one's use then
 * triggering a share of the re-reads.
 */
function syncRefreshes(input: {
  important: number;
  healthApart: number;
  instances: Record<FunctionName, number>;
  runtime: Runtime;
}) {
  const { important, healthApart, instances, runtime } = input;
  const every = CODE_SETTINGS.syncRefreshMs;
  if (runtime.sharedBreakers) {
    const uses = important + healthApart;
    const shared = renewals(uses, every);
    return uses > 0
      ? { syncRefreshes: (shared * important) / uses, healthSyncRefreshes: (shared * healthApart) / uses }
      : { syncRefreshes: 0, healthSyncRefreshes: 0 };
  }
  return {
    syncRefreshes: instances.api * renewals(important / instances.api, every),
    healthSyncRefreshes: instances.health * renewals(healthApart / instances.health, every),
  };
}

/**
 * Applier invocations a second of the ordinary lane for `applied` events a second: a batch is the first
 * event and what arrives in the window after it (a Poisson stream: 1 + rate x window), or a full batch.
 */
export function laneInvocations(applied: number, lane: { batchSize: number; windowMs: number }): number {
  if (applied <= 0) return 0;
  return applied / laneBatchRecords(applied, lane);
}

/** Records in one lane batch for `applied` events a second (at least 1, at most `batchSize`). */
export function laneBatchRecords(applied: number, lane: { batchSize: number; windowMs: number }): number {
  return Math.min(lane.batchSize, 1 + (Math.max(0, applied) * lane.windowMs) / 1000);
}

function regionFlow(input: {
  region: string;
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
  bases: readonly Base[];
}): RegionFlow {
  const { region, topology, profile, runtime, bases } = input;
  const peers = regionNames(topology).filter((r) => r !== region);
  const types = bases.map((base) => typeFlow({ base, region, topology, profile, runtime }));
  const apiInvocations = sum(
    types.map((t) => t.writesArriving + t.reads + t.forwardedIn + sagaApiInvocations(t.saga)),
  );
  const healthInvocations = runtime.healthChecksPerSecond + runtime.watchdogTicksPerSecond * peers.length;
  const heartbeats = runtime.heartbeatTicksPerSecond;
  const heartbeatsIn = heartbeats * peers.length;
  const localEvents = sum(types.map((t) => t.eventsOriginated));
  const applied = sum(types.map((t) => t.eventsApplied + t.appliedAfterCopy));
  const inbound = applied + heartbeatsIn;
  const streamRecords = localEvents + heartbeats + sum(types.map((t) => t.eventsApplied + t.eventsCopiedIn));
  const eventKb = Math.max(1, ...types.map((t) => Math.ceil(t.traffic.eventBytes / 1024)));
  // A shard takes about 1,000 write units a second (one table partition); the index writes too.
  const streamShards = runtime.streamShards ?? Math.max(1, Math.ceil((streamRecords * 2 * eventKb) / 1000));
  const publisher = publisherLoad(
    {
      records: streamRecords,
      local: localEvents + heartbeats,
      events: localEvents,
      coreEvents: sum(types.filter((t) => t.tier === 'core').map((t) => t.eventsOriginated)),
    },
    streamShards,
    runtime,
  );
  const durations = durationsOf(profile, runtime);
  const instances = instancesOf(
    {
      api: apiInvocations,
      health: healthInvocations,
      applier: inbound,
      publisher: publisher.batches,
      saga: sum(types.map((t) => t.saga.tasks)),
    },
    durations,
    runtime,
  );
  const rates = coreRates(types);
  // One process per region (the sandbox): the saga function's writes renew the API's leases.
  const apiRates = runtime.sharedLeases
    ? { atHome: rates.api.atHome + rates.saga.atHome, routed: rates.api.routed + rates.saga.routed }
    : rates.api;
  const leases = leaseRefreshes(types, instances.api, apiRates, runtime);
  const sagaLeases = runtime.sharedLeases
    ? { fence: 0, route: 0 }
    : leaseRefreshes(types, instances.saga, rates.saga, runtime);
  const important = sum(types.filter((t) => t.tier === 'important').map((t) => t.writesArriving));
  // Requests arriving together share the health function's cached parts (its verdict, breakers, traffic).
  const apart =
    runtime.healthChecksPerSecond +
    runtime.watchdogTicksPerSecond * (runtime.watchdogsInStep ? 1 : peers.length);
  const perHealth = apart / instances.health;
  const lane = topology.ordinaryLane;
  return {
    region,
    peers,
    types,
    ...(lane.enabled && !lane.draining
      ? { lane: { batchSize: lane.batchSize, windowMs: lane.maxBatchingWindowMs } }
      : {}),
    apiInvocations,
    healthInvocations,
    instances,
    fenceRefreshes: leases.fence,
    routeRefreshes: leases.route,
    sagaFenceRefreshes: sagaLeases.fence,
    sagaRouteRefreshes: sagaLeases.route,
    sagaSweeps: runtime.sagaSweepsPerSecond,
    ...syncRefreshes({ important, healthApart: apart, instances, runtime }),
    healthProbes: instances.health * renewals(perHealth, CODE_SETTINGS.healthVerdictMs),
    // The traffic register's read is not shared by requests arriving together: each one that finds the
    // cache expired reads it (in step, a peer's probes come in pairs).
    trafficRefreshes:
      instances.health *
      renewals(perHealth, CODE_SETTINGS.trafficRefreshMs) *
      (apart > 0 ? healthInvocations / apart : 1),
    heartbeats,
    heartbeatsIn,
    // applier.ts sweepIfDue: every `thresholds.heartbeatIntervalMs` (the topology's, whatever the timers).
    sweeps:
      instances.applier *
      Math.min(heartbeatsIn / instances.applier, 1000 / topology.thresholds.heartbeatIntervalMs),
    watchdogTicks: runtime.watchdogTicksPerSecond,
    localEvents,
    published: localEvents + heartbeats,
    inbound,
    streamRecords,
    streamShards,
    publisher,
    cacheHitRate: (1 - profile.newAggregateShare) / instances.applier,
  };
}

/**
 * Every region's load for a profile: who executes which writes, what replicates where, and the background
 * work (leases, breakers, heartbeats, health checks, watchdogs) the load and the timers cause. Each
 * aggregate is taken to be written from one region at a time (its users' home: "most users first"), so
 * replicated events do not race local writes of the same aggregate.
 * @example regionFlows(topology, profile, awsRuntime(topology, quotas, sagaShapes(app.sagas))).map((f) => f.apiInvocations)
 */
export function regionFlows(topology: Topology, profile: TrafficProfile, runtime: Runtime): RegionFlow[] {
  const bases = baseFlows(topology, profile, runtime.sagas);
  return regionNames(topology).map((region) => regionFlow({ region, topology, profile, runtime, bases }));
}
