import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createApiHandler } from '../../lib/api/index.ts';
import { cellRuntime } from '../shared/environment.ts';

const logger = new Logger();
const runtime = cellRuntime();

/** The regional HTTP API: commands, reads, /health. */
export const handler = createApiHandler({
  registry: runtime.registry,
  events: runtime.events,
  states: runtime.states,
  clock: runtime.clock,
  region: runtime.environment.MULTIACTIVE_REGION,
  partitions: runtime.topology.partitions,
  idempotency: new DynamoDBPersistenceLayer({
    tableName: runtime.environment.TABLE_IDEMPOTENCY,
    awsSdkV3Client: runtime.dynamodb,
  }),
  logError: (error) => logger.error('request failed', error as Error),
});
