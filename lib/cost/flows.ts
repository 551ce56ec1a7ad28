import { regionNames, type Tier, type Topology } from '../config/index.ts';
import { type AggregateTraffic, regionShares, type TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type FunctionName, type Runtime } from './runtime.ts';

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
}

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
}

function baseFlows(topology: Topology, profile: TrafficProfile): Base[] {
  const shares = regionShares(profile, topology);
  const regions = regionNames(topology);
  return topology.aggregates.map((aggregate) => {
    const traffic = profile.aggregates[aggregate.type] ?? NO_TRAFFIC;
    const arriving = Object.fromEntries(regions.map((r) => [r, traffic.writesPerSecond * shares[r]!]));
    const f = aggregate.tier === 'core' ? profile.coreForwardShare : 0;
    const executed = Object.fromEntries(regions.map((r) => [r, executedAtHome(r, arriving, shares, f)]));
    return { type: aggregate.type, tier: aggregate.tier, traffic, arriving, executed };
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
  const n = base.traffic.eventsPerWrite;
  const core = base.tier === 'core';
  const quorum = core && topology.core.ack === 'quorum';
  const peers = regionNames(topology).filter((r) => r !== region);
  const writesArriving = base.arriving[region]!;
  const writesExecuted = base.executed[region]!;
  const forwardedOut = core ? writesArriving * profile.coreForwardShare : 0;
  const forwardedIn = core ? writesExecuted - writesArriving * (1 - profile.coreForwardShare) : 0;
  const fromPeers = sum(peers.map((peer) => base.executed[peer]! * n));
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
    eventsOriginated: writesExecuted * n,
    eventsApplied: fromPeers - afterCopy,
    appliedAfterCopy: afterCopy,
    copiesOut: quorum ? writesExecuted * peers.length : 0,
    eventsCopiedIn: quorum ? fromPeers : 0,
    partitionsHomed: core ? partitions * share : 0,
    partitionsElsewhere: core ? partitions * (1 - share) : 0,
  };
}

/**
 * Stream batches a second: each shard is polled every `pollMs` and delivers what accumulated (at most a
 * batch); arrivals are taken as Poisson, so a poll finds something with probability 1 - e^(-rate x period).
 */
function publisherLoad(
  rates: { records: number; local: number; events: number },
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
  };
}

/** Warm instances per function: the runtime's, else Little's law (rate x duration), at least one. */
function instancesOf(
  rates: { api: number; health: number; applier: number; publisher: number },
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
    'lag-monitor': 1,
    runbook: 1,
    watchdog: 1,
    readiness: 1,
  };
}

/** Majority reads of partition entries per second by one region's API instances. */
function leaseRefreshes(types: readonly TypeFlow[], instances: number, runtime: Runtime) {
  const core = types.filter((t) => t.tier === 'core');
  const homed = Math.max(...core.map((t) => t.partitionsHomed), 0);
  const elsewhere = Math.max(...core.map((t) => t.partitionsElsewhere), 0);
  const atHome = sum(core.map((t) => t.writesExecuted));
  const routed = sum(core.map((t) => t.forwardedOut));
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
  const apiInvocations = sum(types.map((t) => t.writesArriving + t.reads + t.forwardedIn));
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
    { records: streamRecords, local: localEvents + heartbeats, events: localEvents },
    streamShards,
    runtime,
  );
  const durations = durationsOf(profile, runtime);
  const instances = instancesOf(
    { api: apiInvocations, health: healthInvocations, applier: inbound, publisher: publisher.batches },
    durations,
    runtime,
  );
  const leases = leaseRefreshes(types, instances.api, runtime);
  const important = sum(types.filter((t) => t.tier === 'important').map((t) => t.writesArriving));
  // Requests arriving together share the health function's cached parts (its verdict, breakers, traffic).
  const apart =
    runtime.healthChecksPerSecond +
    runtime.watchdogTicksPerSecond * (runtime.watchdogsInStep ? 1 : peers.length);
  const perHealth = apart / instances.health;
  return {
    region,
    peers,
    types,
    apiInvocations,
    healthInvocations,
    instances,
    fenceRefreshes: leases.fence,
    routeRefreshes: leases.route,
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
 * @example regionFlows(topology, profile, awsRuntime(topology, quotas)).map((f) => f.apiInvocations)
 */
export function regionFlows(topology: Topology, profile: TrafficProfile, runtime: Runtime): RegionFlow[] {
  const bases = baseFlows(topology, profile);
  return regionNames(topology).map((region) => regionFlow({ region, topology, profile, runtime, bases }));
}
