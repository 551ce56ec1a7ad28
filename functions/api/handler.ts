import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApiHandler, multiRegionDeps } from '../../lib/api/index.ts';
import { FetchPeerTransport, parseRegionEndpoints } from '../../lib/routing/index.ts';
import { cellRuntime } from '../shared/environment.ts';

const logger = new Logger();
const runtime = cellRuntime();
const region = runtime.environment.MULTIACTIVE_REGION;
const endpoints = parseRegionEndpoints(runtime.environment.REGION_ENDPOINTS);

/** One client per region for the quorum control state (tables have the same name in every region). */
const controlClients = Object.fromEntries(
  runtime.topology.regions.map((r) => [
    r.name,
    r.name === region
      ? runtime.doc
      : DynamoDBDocumentClient.from(new DynamoDBClient({ region: r.name }), {
          marshallOptions: { removeUndefinedValues: true },
        }),
  ]),
);

// TODO(lead): pass `lag` and `watermarks` adapters from lib/replication once it exports them.
const multiRegion = multiRegionDeps({
  topology: runtime.topology,
  region,
  controlClients,
  controlTable: runtime.environment.TABLE_CONTROL,
  events: { client: runtime.doc, tableName: runtime.environment.TABLE_EVENTS },
  states: runtime.states,
  transport: new FetchPeerTransport({ endpoints }),
  endpoints,
});

/** The regional HTTP API: commands (routed to their home), reads (read-your-writes), /health. */
export const handler = createApiHandler({
  registry: runtime.registry,
  events: runtime.events,
  states: runtime.states,
  clock: runtime.clock,
  region,
  partitions: runtime.topology.partitions,
  ...multiRegion.api,
  idempotency: new DynamoDBPersistenceLayer({
    tableName: runtime.environment.TABLE_IDEMPOTENCY,
    awsSdkV3Client: runtime.dynamodb,
  }),
  logError: (error) => logger.error('request failed', error as Error),
});
