import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiHandler } from '../../lib/api/index.ts';
import { peersOf } from '../../lib/config/index.ts';
import { ConflictRecordStore } from '../../lib/conflict/index.ts';
import { QuarantineStore, replicationStatus } from '../../lib/replication/index.ts';
import { cellRuntime } from '../shared/environment.ts';
import { regionWiring } from '../shared/region.ts';

const logger = new Logger();
const runtime = cellRuntime();
const { environment, topology } = runtime;
const region = environment.MULTIACTIVE_REGION;
const wiring = regionWiring(runtime, (sagaId, error) =>
  logger.error('saga execution not started; the sweep will start it', { sagaId, error }),
);

const statusDeps = {
  region,
  peers: peersOf(topology, region),
  watermarks: wiring.watermarkStore,
  quarantine: new QuarantineStore({ client: runtime.doc, tableName: environment.TABLE_QUARANTINE }),
  conflicts: new ConflictRecordStore({ client: runtime.doc, tableName: environment.TABLE_REPLICATION }),
};
/** Lag per origin, quarantined events and open conflicts (`GET /v1/replication/status`, `/health`). */
const status = () => replicationStatus(statusDeps);

/** The regional HTTP API: commands (routed to their home), reads (read-your-writes), transfers, /health. */
export const handler = createApiHandler({
  ...wiring.commands,
  ...wiring.multiRegion.api,
  sagas: wiring.sagas.api,
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
