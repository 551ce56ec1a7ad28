import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApiHandler, multiRegionDeps } from '../../lib/api/index.ts';
import { peersOf } from '../../lib/config/index.ts';
import { ConflictRecordStore } from '../../lib/conflict/index.ts';
import { writePathRequestHandler } from '../../lib/ownership/index.ts';
import {
  QuarantineStore,
  ReplicationWatermarks,
  replicationStatus,
  WatermarkStore,
} from '../../lib/replication/index.ts';
import { FetchPeerTransport, parseRegionEndpoints } from '../../lib/routing/index.ts';
import { cellRuntime } from '../shared/environment.ts';

const logger = new Logger();
const runtime = cellRuntime();
const { environment, topology } = runtime;
const region = environment.MULTIACTIVE_REGION;
const endpoints = parseRegionEndpoints(environment.REGION_ENDPOINTS);

/** One client per region for the quorum control state (tables have the same name in every region). */
const controlClients = Object.fromEntries(
  topology.regions.map((r) => [
    r.name,
    r.name === region
      ? runtime.doc
      : DynamoDBDocumentClient.from(
          new DynamoDBClient({ region: r.name, requestHandler: writePathRequestHandler(topology.fencing) }),
          {
            marshallOptions: { removeUndefinedValues: true },
          },
        ),
  ]),
);

const replication = { client: runtime.doc, tableName: environment.TABLE_REPLICATION };
const watermarkStore = new WatermarkStore(replication);
/** Watermarks for read-your-writes and lag for the sync breakers, from the local replication table. */
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
  events: { client: runtime.doc, tableName: environment.TABLE_EVENTS },
  states: runtime.states,
  transport: new FetchPeerTransport({ endpoints }),
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
/** Lag per origin, quarantined events and open conflicts (`GET /v1/replication/status`, `/health`). */
const status = () => replicationStatus(statusDeps);

/** The regional HTTP API: commands (routed to their home), reads (read-your-writes), /health. */
export const handler = createApiHandler({
  registry: runtime.registry,
  events: runtime.events,
  states: runtime.states,
  clock: runtime.clock,
  region,
  partitions: topology.partitions,
  ...multiRegion.api,
  idempotency: new DynamoDBPersistenceLayer({
    tableName: environment.TABLE_IDEMPOTENCY,
    awsSdkV3Client: runtime.dynamodb,
  }),
  // Drained or not comes from the traffic breaker (control state); the body adds lag per origin.
  health: async () => ({ healthy: true, replication: await status() }),
  replicationStatus: status,
  conflicts: statusDeps.conflicts,
  logError: (error) => logger.error('request failed', error as Error),
});
