import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type MultiRegion, multiRegionDeps } from '../../api/index.ts';
import type { InternalKey } from '../../auth/index.ts';
import { dynamoQuorumPeer, quorumPeerRetirer } from '../../commands/index.ts';
import type { Topology } from '../../config/index.ts';
import type { AggregateRegistry } from '../../model/index.ts';
import { applierOwnership, type ControlReplica, type PartitionOwnership } from '../../ownership/index.ts';
import { ReplicationWatermarks } from '../../replication/index.ts';
import { AuthenticatedPeerTransport, FetchPeerTransport } from '../../routing/index.ts';
import type { LocalClients } from '../dynamodb/clients.ts';
import type { WanNetwork } from '../wan/index.ts';
import type { RegionStores } from './region-stores.ts';
import { type PipelineTrace, timedStep } from './stage-trace.ts';
import type { SandboxTiming } from './timing.ts';
import { WanControlReplica, WanPeerTransport, wanDocumentClient } from './wan-adapters.ts';

/** What routing needs to know about a sandbox region (itself or a peer). */
export interface RoutedRegion {
  readonly name: string;
  /** Base URL of its API (known once its server listens; read at every use). */
  readonly apiUrl: string;
  readonly controlReplica: ControlReplica;
  /** Its tables the quorum ack writes to directly (read when used). */
  readonly quorumTables: {
    readonly client: DynamoDBDocumentClient;
    readonly events: string;
    readonly state: string;
    readonly replication: string;
    readonly control: string;
  };
  /** Its snapshots table and its archive (with a retention): a quorum-peer retire over its archived log. */
  readonly stores: Pick<RegionStores, 'archive'> & {
    readonly tables: Pick<RegionStores['tables'], 'snapshots'>;
  };
}

export interface RegionRoutingOptions {
  readonly self: RoutedRegion;
  readonly peers: readonly RoutedRegion[];
  readonly topology: Topology;
  /** The aggregates, for the quorum peers' branch retirer (a peer's row is rebuilt by its fold). */
  readonly registry: AggregateRegistry;
  readonly timing: SandboxTiming;
  readonly wan: WanNetwork;
  readonly clients: LocalClients;
  readonly stores: RegionStores;
  /** The environment's internal key: forwarded requests carry peer tokens signed with it. */
  readonly internalKey: InternalKey;
  /** The region's wall clock (skewable): leases, `activeFrom` and replication lag read it. */
  readonly now: () => number;
  /** Times each call of the quorum ack to a peer's tables (benchmarks only). */
  readonly trace?: PipelineTrace;
}

/** Region -> API base URL, each read when used: the ports are known only once the servers listen. */
export function liveEndpoints(regions: readonly RoutedRegion[]): Readonly<Record<string, string>> {
  const endpoints: Record<string, string> = {};
  for (const region of regions) {
    Object.defineProperty(endpoints, region.name, { enumerable: true, get: () => region.apiUrl });
  }
  return endpoints;
}

/**
 * A sandbox region's ownership, routing and breakers, built by `multiRegionDeps` as in Lambda: the
 * quorum control state over every region's control table (the peers' across the WAN), forwarding and
 * back-to-source reads to the peers' APIs across the WAN, and lag and watermarks from the region's
 * replication table.
 */
export function regionRouting(options: RegionRoutingOptions): MultiRegion {
  const { self, peers, topology, timing, wan, stores } = options;
  const endpoints = liveEndpoints([self, ...peers]);
  const watermarks = new ReplicationWatermarks({
    store: stores.watermarks,
    heartbeatIntervalMs: timing.heartbeatIntervalMs,
    now: options.now,
  });
  return multiRegionDeps({
    topology,
    region: self.name,
    controlReplicas: [
      self.controlReplica,
      ...peers.map((peer) => new WanControlReplica(self.name, peer.controlReplica, wan)),
    ],
    controlTable: stores.tables.control,
    events: { client: options.clients.doc, tableName: stores.tables.events },
    states: stores.states,
    // core.ack 'quorum': each peer's tables, written directly across the WAN.
    replicationTable: stores.tables.replication,
    quorumPeers: peers.map((peer) => {
      const { client, state, ...tables } = peer.quorumTables;
      const wanClient = timedPeerClient(
        options.trace,
        `${self.name} -> ${peer.name}`,
        wanDocumentClient(self.name, peer.name, client, wan),
      );
      return dynamoQuorumPeer({
        region: peer.name,
        client: wanClient,
        tables,
        // A peer's branch of earlier epochs is retired into its and this region's conflict queues.
        retire: quorumPeerRetirer({
          registry: options.registry,
          // Its snapshots and archive: a retire over its archived log folds the row from them.
          peer: {
            region: peer.name,
            client: wanClient,
            tables: { ...tables, state, snapshots: peer.stores.tables.snapshots },
            ...(peer.stores.archive ? { archive: peer.stores.archive } : {}),
          },
          local: { region: self.name, client: options.clients.doc, tables: stores.tables },
        }),
      });
    }),
    // The quorum copy catches a lagging peer up from this region's archive where its log holds stubs.
    archiveOf: (name) =>
      name === self.name ? stores.archive : peers.find((peer) => peer.name === name)?.stores.archive,
    // Signed as in Lambda (a peer token for the peer's internal route), then across the WAN.
    transport: new AuthenticatedPeerTransport({
      inner: new WanPeerTransport(self.name, new FetchPeerTransport({ endpoints }), wan),
      key: options.internalKey,
      env: topology.name,
      region: self.name,
    }),
    endpoints,
    lag: watermarks,
    watermarks,
    fencing: timing.fencing,
    controlCallTimeoutMs: 2_000,
    // The GTM probes /health every health-check interval: a drain shows by the next probe or so.
    trafficRefreshMs: Math.min(topology.gtm.healthCheck.intervalSeconds * 1_000 * timing.awsTimeScale, 5_000),
    now: options.now,
  });
}

/**
 * The ownership a sandbox region's applier reads a home's lease from (a cut event under `core.ack: local`),
 * as the applier function builds it: its own quorum register over every region's control table (the
 * peers' across the WAN), so its reads are made, and IAM-checked, as the applier's and never shared with
 * the API's.
 */
export function applierRouting(
  options: Pick<RegionRoutingOptions, 'self' | 'peers' | 'timing' | 'wan' | 'stores'>,
): PartitionOwnership {
  const { self, peers, wan } = options;
  return applierOwnership({
    region: self.name,
    replicas: [
      self.controlReplica,
      ...peers.map((peer) => new WanControlReplica(self.name, peer.controlReplica, wan)),
    ],
    controlTable: options.stores.tables.control,
    fencing: options.timing.fencing,
    callTimeoutMs: 2_000,
  });
}

/**
 * A quorum peer's client whose calls are timed per link and command (`quorum call <home> -> <peer>
 * <Command>`: the WAN round trip and the peer's DynamoDB) when there is a trace; the client itself when not.
 */
function timedPeerClient(
  trace: PipelineTrace | undefined,
  link: string,
  client: DynamoDBDocumentClient,
): DynamoDBDocumentClient {
  if (!trace) return client;
  const send = client.send.bind(client) as (command: object) => Promise<unknown>;
  const timed = (command: object) =>
    timedStep(trace, `quorum call ${link} ${command.constructor.name}`, send)(command);
  return new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'send' ? timed : Reflect.get(target, property, receiver),
  });
}
