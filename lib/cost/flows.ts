import { nearestRegions, peersOf, regionNames, type Tier, type Topology } from '../config/index.ts';
import { MAX_ENTRIES_PER_CALL } from '../replication/entries.ts';
import { type AggregateTraffic, regionShares, type TrafficProfile } from './profile.ts';
import type { Runtime } from './runtime.ts';

/** One aggregate type's traffic in one region, per second. */
export interface TypeFlow {
  readonly type: string;
  readonly tier: Tier;
  readonly traffic: AggregateTraffic;
  /** Client writes reaching this region. */
  readonly writesArriving: number;
  /** Commands executed here (core: at the partition's home). */
  readonly writesExecuted: number;
  /** Core writes this region forwards to their home, and those forwarded here. */
  readonly forwardedOut: number;
  readonly forwardedIn: number;
  readonly reads: number;
  readonly tokenReads: number;
  /** Commands run through Powertools idempotency (keyed, and every forwarded write at the home). */
  readonly idempotent: number;
  readonly eventsOriginated: number;
  /** Replicated events applied here by the normal path, and by the quorum-copy path. */
  readonly eventsApplied: number;
  readonly quorumCopyApplies: number;
  /** Quorum-ack copies written into this region's events table by a home elsewhere. */
  readonly quorumCopiesIn: number;
  /** Quorum-ack copies this region writes into its nearest peer. */
  readonly quorumCopiesOut: number;
}

/** Everything the model needs to know about one region's load, per second. */
export interface RegionFlow {
  readonly region: string;
  readonly types: readonly TypeFlow[];
  /** The peer that takes this region's quorum-ack copies (nearest first). */
  readonly quorumPeer: string | undefined;
  readonly health: number;
  /** API invocations: client writes and reads, forwarded-in writes, health checks. */
  readonly apiRequests: number;
  readonly instances: { readonly api: number; readonly applier: number };
  readonly cacheHitRate: number;
  readonly leaseRefreshes: number;
  readonly syncRefreshes: number;
  readonly trafficRefreshes: number;
  readonly heartbeats: number;
  /** Entries this region publishes (its events and heartbeats) and the entries it receives from peers. */
  readonly published: number;
  readonly inbound: number;
  readonly streamRecords: number;
  readonly streamShards: number;
  readonly publisherBatches: number;
  readonly putEventsCalls: number;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Renewals a second of a cache entry re-read when older than `ageMs` at a use, for uses arriving at `rate`. */
function renewals(rate: number, ageMs: number): number {
  return rate > 0 ? 1 / (ageMs / 1000 + 1 / rate) : 0;
}

/** Core writes executed at `home` per second, from the writes arriving everywhere (forwarded share spread by share). */
function executedAtHome(home: string, arriving: Record<string, number>, shares: Record<string, number>, f: number) {
  let executed = 0;
  for (const [from, rate] of Object.entries(arriving)) {
    if (from === home) executed += rate * (1 - f);
    else if (shares[from]! < 1) executed += rate * f * (shares[home]! / (1 - shares[from]!));
  }
  return executed;
}

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
    const traffic = profile.aggregates[aggregate.type] ?? {
      writesPerSecond: 0,
      readsPerSecond: 0,
      eventsPerWrite: 1,
      eventBytes: 600,
      stateBytes: 800,
    };
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
  quorumPeerOf: Record<string, string | undefined>;
}): TypeFlow {
  const { base, region, topology, profile, quorumPeerOf } = input;
  const share = regionShares(profile, topology)[region]!;
  const n = base.traffic.eventsPerWrite;
  const core = base.tier === 'core';
  const quorum = core && topology.core.ack === 'quorum';
  const writesArriving = base.arriving[region]!;
  const forwardedOut = core ? writesArriving * profile.coreForwardShare : 0;
  const writesExecuted = base.executed[region]!;
  const forwardedIn = core ? writesExecuted - writesArriving * (1 - profile.coreForwardShare) : 0;
  const peers = peersOf(topology, region);
  const fromPeers = (pick: (peer: string) => boolean) =>
    sum(peers.filter(pick).map((peer) => base.executed[peer]! * n));
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
    eventsApplied: fromPeers((peer) => !quorum || quorumPeerOf[peer] !== region),
    quorumCopyApplies: quorum ? fromPeers((peer) => quorumPeerOf[peer] === region) : 0,
    quorumCopiesIn: quorum ? fromPeers((peer) => quorumPeerOf[peer] === region) : 0,
    quorumCopiesOut: quorum ? writesExecuted * n : 0,
  };
}

/**
 * Stream batches a second and PutEvents calls of the publisher: each shard is polled every `pollMs` when
 * idle and delivers what accumulated (at most a batch); a batch's local-origin records go out in calls
 * of at most ten entries.
 */
function publisherLoad(records: number, local: number, shards: number, runtime: Runtime) {
  if (records === 0) return { batches: 0, calls: 0 };
  const perShard = records / shards;
  const t = runtime.streamPollMs / 1000;
  const perBatchCap = runtime.publisherBatchSize;
  const batchesPerShard = Math.max((1 - Math.exp(-perShard * t)) / t, perShard / perBatchCap);
  const batches = batchesPerShard * shards;
  const localPerBatch = local / batches;
  const withLocal = batches * (1 - Math.exp(-localPerBatch));
  const callsPerBatch = Math.max(1, Math.ceil(localPerBatch / MAX_ENTRIES_PER_CALL));
  return { batches, calls: withLocal * callsPerBatch };
}

/**
 * Every region's load for a profile: who executes which writes, what replicates where, and the background
 * work (leases, breakers, heartbeats, health checks) the load causes.
 * @example regionFlows(topology, profile, awsRuntime(topology, quotas)).map((f) => f.apiRequests)
 */
export function regionFlows(topology: Topology, profile: TrafficProfile, runtime: Runtime): RegionFlow[] {
  const regions = regionNames(topology);
  const quorumPeerOf = Object.fromEntries(
    regions.map((r) => [r, nearestRegions(topology, r, peersOf(topology, r))[0]]),
  );
  const bases = baseFlows(topology, profile);
  const partitions = profile.activePartitions ?? topology.partitions;
  const d = profile.durationsMs;
  return regions.map((region): RegionFlow => {
    const types = bases.map((base) => typeFlow({ base, region, topology, profile, quorumPeerOf }));
    const health = runtime.healthChecksPerSecond;
    const clientRequests = sum(types.map((t) => t.writesArriving + t.reads));
    const forwardedIn = sum(types.map((t) => t.forwardedIn));
    const forwardedOut = sum(types.map((t) => t.forwardedOut));
    const apiRequests = clientRequests + forwardedIn + health;
    const heartbeats = runtime.heartbeatTicksPerSecond;
    const peers = regions.length - 1;
    const published = sum(types.map((t) => t.eventsOriginated)) + heartbeats;
    const inbound =
      sum(types.map((t) => t.eventsApplied + t.quorumCopyApplies)) + heartbeats * peers;
    const instances = runtime.instances ?? {
      api: Math.max(1, Math.ceil((apiRequests * d.api + forwardedOut * (d.apiForward - d.api)) / 1000)),
      applier: Math.max(1, Math.ceil((inbound * d.applier) / 1000)),
    };
    const coreRouted = sum(types.filter((t) => t.tier === 'core').map((t) => t.writesArriving + t.forwardedIn));
    const important = sum(types.filter((t) => t.tier === 'important').map((t) => t.writesArriving));
    const leases = instances.api * partitions;
    const streamRecords =
      published + sum(types.map((t) => t.eventsApplied + t.quorumCopiesIn));
    const avgEventKb = Math.max(1, Math.ceil(Math.max(...types.map((t) => t.traffic.eventBytes)) / 1024));
    const streamShards = runtime.streamShards ?? Math.max(1, Math.ceil((streamRecords * 3 * avgEventKb) / 1000));
    const publisher = publisherLoad(streamRecords, published, streamShards, runtime);
    return {
      region,
      types,
      quorumPeer: topology.core.ack === 'quorum' ? quorumPeerOf[region] : undefined,
      health,
      apiRequests,
      instances,
      cacheHitRate: (1 - profile.newAggregateShare) / instances.applier,
      leaseRefreshes: leases * renewals(coreRouted / leases, runtime.leaseMs / 2),
      syncRefreshes: instances.api * renewals((important + health) / instances.api, runtime.syncRefreshMs),
      trafficRefreshes: instances.api * renewals(health / instances.api, runtime.trafficRefreshMs),
      heartbeats,
      published,
      inbound,
      streamRecords,
      streamShards,
      publisherBatches: publisher.batches,
      putEventsCalls: publisher.calls,
    };
  });
}
