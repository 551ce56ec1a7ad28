import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiHandler } from '../../lib/api/index.ts';
import { peersOf } from '../../lib/config/index.ts';
import { cellRouting } from '../shared/cell-routing.ts';
import { cellRuntime } from '../shared/environment.ts';

const logger = new Logger();
const runtime = cellRuntime();
const { environment, topology } = runtime;
const region = environment.MULTIACTIVE_REGION;
const { multiRegion, status, conflicts } = cellRouting(runtime);

/**
 * The regional HTTP API: commands (routed to their home), reads (read-your-writes), peer requests on
 * /internal (authenticated by their peer token). API Gateway authenticates clients on /v1 (JWT or IAM
 * per `api.auth`); /health is served by the health function.
 */
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
  conflicts,
  auth: {
    caller: topology.api.auth.type,
    peers: { key: runtime.internalKey, env: topology.name, region, peers: peersOf(topology, region) },
  },
  logError: (error) => logger.error('request failed', error as Error),
});
