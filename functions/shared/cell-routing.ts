import { type MultiRegion, multiRegionDeps } from '../../lib/api/index.ts';
import { peersOf } from '../../lib/config/index.ts';
import { ConflictRecordStore } from '../../lib/conflict/index.ts';
import { s3RegionArchives } from '../../lib/lifecycle/index.ts';
import {
  QuarantineStore,
  type ReplicationStatus,
  ReplicationWatermarks,
  replicationStatus,
  WatermarkStore,
} from '../../lib/replication/index.ts';
import {
  AuthenticatedPeerTransport,
  FetchPeerTransport,
  parseRegionEndpoints,
} from '../../lib/routing/index.ts';
import { application } from './application.ts';
import { type CellRuntime, regionControlClients } from './environment.ts';

export interface CellRouting {
  readonly multiRegion: MultiRegion;
  /** Lag per origin, quarantined events and open conflicts (`/v1/replication/status`, `/health`). */
  readonly status: () => Promise<ReplicationStatus>;
  /** Conflict records of the local replication table (`GET /v1/conflicts/...`). */
  readonly conflicts: ConflictRecordStore;
}

/**
 * Ownership, routing and breakers of the cell as the API and health functions use them: the quorum
 * control state over a DynamoDB client per region, peers reached over HTTPS with peer tokens signed by
 * the environment's internal key, lag and watermarks from the local replication table.
 */
export function cellRouting(runtime: CellRuntime): CellRouting {
  const { environment, topology } = runtime;
  const region = environment.MULTIACTIVE_REGION;
  const endpoints = parseRegionEndpoints(environment.REGION_ENDPOINTS);
  const controlClients = regionControlClients(topology, region, runtime.doc);
  const replication = { client: runtime.doc, tableName: environment.TABLE_REPLICATION };
  const watermarkStore = new WatermarkStore(replication);
  const watermarks = new ReplicationWatermarks({
    store: watermarkStore,
    heartbeatIntervalMs: topology.thresholds.heartbeatIntervalMs,
  });
  const multiRegion = multiRegionDeps({
    topology,
    region,
    controlClients,
    controlTable: environment.TABLE_CONTROL,
    replicationTable: environment.TABLE_REPLICATION,
    // core.ack 'quorum': a peer's branch of earlier epochs is retired into the conflict queues.
    registry: runtime.registry,
    stateTable: environment.TABLE_STATE,
    events: { client: runtime.doc, tableName: environment.TABLE_EVENTS },
    states: runtime.states,
    // A quorum-peer retire over a peer's archived log: the peer's snapshots and its archive bucket.
    ...(environment.TABLE_SNAPSHOTS ? { snapshotsTable: environment.TABLE_SNAPSHOTS } : {}),
    archiveOf: s3RegionArchives({ topology, app: application().name }),
    transport: new AuthenticatedPeerTransport({
      inner: new FetchPeerTransport({ endpoints }),
      key: runtime.internalKey,
      env: topology.name,
      region,
    }),
    endpoints,
    lag: watermarks,
    watermarks,
  });
  const statusDeps = {
    region,
    peers: peersOf(topology, region),
    watermarks: watermarkStore,
    quarantine: new QuarantineStore({ client: runtime.doc, tableName: environment.TABLE_QUARANTINE }),
    conflicts: new ConflictRecordStore(replication),
  };
  return { multiRegion, status: () => replicationStatus(statusDeps), conflicts: statusDeps.conflicts };
}
