import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QuorumAckError } from '../commands/errors.ts';
import { quorumReplicator } from '../commands/quorum-ack.ts';
import type { QuorumPeer } from '../commands/quorum-peer.ts';
import { dynamoQuorumPeer } from '../commands/quorum-peer-dynamodb.ts';
import { quorumPeerRetirer } from '../commands/quorum-peer-retirer.ts';
import { ConfigError } from '../config/errors.ts';
import type { Topology } from '../config/schema.ts';
import { nearestRegions, peersOf } from '../config/topology.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { type FencingBudget, fencingBudgetIssues } from '../ownership/fencing-budget.ts';
import { RequestCounter } from '../ownership/hot-partitions.ts';
import { PartitionOwnership } from '../ownership/ownership.ts';
import { PartitionMap } from '../ownership/partition-map.ts';
import { QuorumRegister } from '../ownership/quorum-register.ts';
import type { ControlReplica } from '../ownership/replica.ts';
import type { RegionBreakers } from '../resilience/health.ts';
import { ServiceBreakers, serviceBreakerOptions } from '../resilience/service-breaker.ts';
import { type LagReader, SyncBreakers } from '../resilience/sync-breaker.ts';
import { TrafficBreaker } from '../resilience/traffic-breaker.ts';
import { DynamoLocalLog } from '../routing/local-log.ts';
import { PeerClient } from '../routing/peer-client.ts';
import { ReadYourWrites, type StateHeadReader, type WatermarkReader } from '../routing/read-your-writes.ts';
import { CommandRouter } from '../routing/router.ts';
import type { PeerTransport } from '../routing/transport.ts';
import { EventStore } from '../store/event-store.ts';
import type { ApiRouting } from './routing.ts';

export interface MultiRegionOptions {
  readonly topology: Topology;
  readonly region: string;
  /** A document client per configured region (the local one included), for the quorum control state. */
  readonly controlClients?: Readonly<Record<string, DynamoDBDocumentClient>>;
  /**
   * Instead of `controlClients`: every region's control replica, the local one unwrapped (the sandbox
   * passes its peers' replicas behind WAN links).
   */
  readonly controlReplicas?: readonly ControlReplica[];
  /** Control table name; the same in every region (lib/store/tables.ts). */
  readonly controlTable: string | (() => string);
  /** Replication table name, the same in every region: where quorum copies leave their markers. */
  readonly replicationTable?: string | (() => string);
  /** The local events table, for read-your-writes point reads. */
  readonly events: { readonly client: DynamoDBDocumentClient; readonly tableName: string | (() => string) };
  readonly states: StateHeadReader;
  readonly transport: PeerTransport;
  /** REGION_ENDPOINTS, for 307 redirects. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Replication lag per peer (replication module); without it the sync breakers never open. */
  readonly lag?: LagReader;
  /** Newest HLC applied per origin (replication module); optional fast negative for read-your-writes. */
  readonly watermarks?: WatermarkReader;
  /** Overrides of `topology.fencing` (the sandbox's timers); the result is checked like the config. */
  readonly fencing?: Partial<FencingBudget>;
  /** Per-replica timeout of quorum calls (default routing.forwardTimeoutMs). */
  readonly controlCallTimeoutMs?: number;
  /** How long the drained/active state is cached for /health (TrafficBreaker default: 5 s). */
  readonly trafficRefreshMs?: number;
  /**
   * `core.ack: 'quorum'`: the peers' tables (the sandbox passes them behind WAN links); by default built
   * from `controlClients` and the table names, which are the same in every region.
   */
  readonly quorumPeers?: readonly QuorumPeer[];
  /**
   * With `stateTable`: the quorum peers built here retire a peer's branch of earlier epochs (a lost home's
   * unacknowledged copies) into the peer's and this region's conflict queues (`quorumPeerRetirer`);
   * without them such a peer does not count towards the majority until a Repair or Failback settles it.
   */
  readonly registry?: AggregateRegistry;
  /** State table name, the same in every region (the retired peer's row is rebuilt there). */
  readonly stateTable?: string | (() => string);
  /** This region's events store, the log lagging peers are caught up from (default: a store over `events`). */
  readonly localEvents?: EventStore;
  /**
   * Snapshots table name, the same in every region: a quorum-peer retire over a peer's archived log folds
   * the peer's row from its snapshots (lib/lifecycle). Without it or `archiveOf`, such a retire is refused.
   */
  readonly snapshotsTable?: string | (() => string);
  /**
   * Each region's retention archive (its bucket on AWS, its directory in the sandbox); none: no retention.
   * This region's is the quorum copy's (QuorumReplicatorOptions.archive), a peer's its retirer's.
   */
  readonly archiveOf?: (region: string) => ArchiveStore | undefined;
  /** The region's wall clock (epoch ms) for leases and `activeFrom` (default Date.now; the sandbox skews it). */
  readonly now?: () => number;
  /** The region's monotonic clock for lease ages (default performance.now; tests move it with `now`). */
  readonly monotonic?: () => number;
}

/** What `multiRegionDeps` builds: spread `api` into ApiDeps; keep the rest for the runbooks and CLI. */
export interface MultiRegion {
  readonly api: {
    readonly fenceCoreWrite: (partition: number) => ReturnType<PartitionOwnership['fenceCoreWrite']>;
    readonly routing: ApiRouting;
    readonly breakers: RegionBreakers;
    readonly replicateBeforeAck?: (
      envelopes: readonly EventEnvelope[],
      writer?: { readonly epoch: number },
    ) => Promise<void>;
  };
  readonly register: QuorumRegister;
  readonly map: PartitionMap;
  readonly ownership: PartitionOwnership;
  readonly requestCounter: RequestCounter;
}

/** One control replica per configured region, from the given replicas or clients. */
function controlReplicas(options: MultiRegionOptions): ControlReplica[] {
  return options.topology.regions.map((r) => {
    const given = options.controlReplicas?.find((replica) => replica.region === r.name);
    if (given) return given;
    const client = options.controlClients?.[r.name];
    if (!client) throw new Error(`no control replica or DynamoDB client for region ${r.name}`);
    return new DynamoControlReplica({ region: r.name, client, tableName: options.controlTable });
  });
}

/** `topology.fencing` with the caller's overrides, refused when it breaks the budget's invariants. */
function fencingOf(options: MultiRegionOptions): FencingBudget {
  const budget = { ...options.topology.fencing, ...options.fencing };
  const issues = fencingBudgetIssues(budget);
  if (issues.length > 0)
    throw new ConfigError(
      'multiRegionDeps',
      issues.map(({ field, message }) => ({ path: `fencing.${field}`, message })),
    );
  return budget;
}

/** Rejects with QuorumAckError when the copy has not landed within `ms` (the peers are not waited for). */
function bounded(
  replicate: (envelopes: readonly EventEnvelope[], writer?: { readonly epoch: number }) => Promise<void>,
  bound: { ms: number; peers: readonly string[] },
): (envelopes: readonly EventEnvelope[], writer?: { readonly epoch: number }) => Promise<void> {
  return async (envelopes, writer) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QuorumAckError(envelopes[0]?.aggregateId ?? '', bound.peers, 1_000)),
        bound.ms,
      );
    });
    try {
      await Promise.race([replicate(envelopes, writer), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The retirer of a quorum peer built from clients and names, when the options name a registry and state table. */
function retirerOf(
  options: MultiRegionOptions,
  peer: {
    region: string;
    client: DynamoDBDocumentClient;
    tables: {
      events: string | (() => string);
      replication: string | (() => string);
      control: string | (() => string);
    };
  },
) {
  const { registry, stateTable } = options;
  if (!registry || !stateTable) return undefined;
  const tables = { ...peer.tables, state: stateTable };
  const archive = options.archiveOf?.(peer.region);
  const peerTables = options.snapshotsTable ? { ...tables, snapshots: options.snapshotsTable } : tables;
  return quorumPeerRetirer({
    registry,
    peer: { ...peer, tables: peerTables, ...(archive ? { archive } : {}) },
    local: { region: options.region, client: options.events.client, tables },
  });
}

/**
 * The quorum-ack hook when the topology asks for it: peers nearest first, the whole copy bounded by the
 * fencing budget's `quorumCopyTimeoutMs` however the peers are tried (a write in flight longer would
 * outlive its lease anyway).
 */
function quorumAck(
  options: MultiRegionOptions,
  budget: FencingBudget,
): MultiRegion['api']['replicateBeforeAck'] {
  const { topology, region } = options;
  if (topology.core.ack !== 'quorum') return undefined;
  const byRegion = (name: string): QuorumPeer => {
    const given = options.quorumPeers?.find((p) => p.region === name);
    if (given) return given;
    const client = options.controlClients?.[name];
    const replication = options.replicationTable;
    if (!client || !replication)
      throw new ConfigError('multiRegionDeps', [
        {
          path: 'core.ack',
          message: `quorum needs region ${name}'s tables (quorumPeers, or controlClients and replicationTable)`,
        },
      ]);
    const tables = { events: options.events.tableName, replication, control: options.controlTable };
    const retire = retirerOf(options, { region: name, client, tables });
    return dynamoQuorumPeer({ region: name, client, tables, ...(retire ? { retire } : {}) });
  };
  const local = options.localEvents ?? new EventStore(options.events);
  const peers = nearestRegions(topology, region, peersOf(topology, region)).map(byRegion);
  const timeoutMs = budget.quorumCopyTimeoutMs;
  // Its own archive: a lagging peer lacking events this log holds only as stubs is caught up from it.
  const archive = options.archiveOf?.(region);
  const replicate = quorumReplicator({ region, peers, local, timeoutMs, ...(archive ? { archive } : {}) });
  return bounded(replicate, { ms: timeoutMs, peers: peers.map((p) => p.region) });
}

/**
 * Wires ownership (quorum partition map, leases, fencing), routing (forward/redirect, read-your-writes)
 * and the three breakers for one region, from clients and names only.
 * @example const multi = multiRegionDeps({ topology, region, controlClients, controlTable, events, states, transport, endpoints }); createApiHandler({ ...base, ...multi.api });
 */
export function multiRegionDeps(options: MultiRegionOptions): MultiRegion {
  const { topology, region } = options;
  const replicas = controlReplicas(options);
  const local = replicas.find((r) => r.region === region)!;
  const register = new QuorumRegister({
    replicas,
    callTimeoutMs: options.controlCallTimeoutMs ?? topology.routing.forwardTimeoutMs,
  });
  const budget = fencingOf(options);
  const map = new PartitionMap({
    register,
    leaseMs: budget.leaseMs,
    skewMarginMs: budget.skewMarginMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const ownership = new PartitionOwnership({
    region,
    map,
    local,
    controlTable: options.controlTable,
    inFlight: budget,
    ...(options.now ? { now: options.now } : {}),
    ...(options.monotonic ? { monotonic: options.monotonic } : {}),
  });
  const service = new ServiceBreakers(serviceBreakerOptions(topology.thresholds));
  const sync = new SyncBreakers({
    peers: peersOf(topology, region),
    lag: options.lag ?? { lagMs: async () => null },
    degradeLagMs: topology.thresholds.degradeLagMs,
    recoverLagMs: topology.thresholds.recoverLagMs,
  });
  const traffic = new TrafficBreaker({
    region,
    register,
    local,
    ...(options.trafficRefreshMs === undefined ? {} : { refreshMs: options.trafficRefreshMs }),
  });
  const requestCounter = new RequestCounter();
  const replicateBeforeAck = quorumAck(options, budget);
  const router = new CommandRouter({
    region,
    partitions: topology.partitions,
    mode: topology.routing.coreMode,
    homes: ownership,
    degrade: sync,
    peers: new PeerClient({
      transport: options.transport,
      breakers: service,
      timeoutMs: topology.routing.forwardTimeoutMs,
    }),
    endpoints: options.endpoints,
  });
  const readYourWrites = new ReadYourWrites({
    region,
    waitMs: topology.routing.readYourWritesWaitMs,
    states: options.states,
    log: new DynamoLocalLog(options.events),
    ...(options.watermarks ? { watermarks: options.watermarks } : {}),
  });
  return {
    api: {
      fenceCoreWrite: (partition) => ownership.fenceCoreWrite(partition),
      routing: { router, readYourWrites, requestCounter, partitions: topology.partitions },
      breakers: { service, sync, traffic },
      ...(replicateBeforeAck ? { replicateBeforeAck } : {}),
    },
    register,
    map,
    ownership,
    requestCounter,
  };
}
