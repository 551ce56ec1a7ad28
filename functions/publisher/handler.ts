import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { type InternalKey, internalKeySecretName, secretsManagerInternalKey } from '../../lib/auth/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import {
  DynamoPublishHolds,
  eventBridgeBus,
  homeRowCatchUp,
  type PublisherOptions,
  publishStreamRecords,
} from '../../lib/replication/index.ts';
import { EventStore, StateStore } from '../../lib/store/index.ts';
import { application } from '../shared/application.ts';

export interface PublisherHandlerDeps extends PublisherOptions {
  readonly logger?: Pick<Logger, 'error' | 'info'>;
  /** The environment's internal key: entries are signed with it (resolved once per batch, cached). */
  readonly eventKey?: InternalKey;
}

/**
 * The publisher's main function over injected deps. Powertools' BatchProcessor is not used: it runs the
 * record handler once per record, which would cost one PutEvents call per record instead of one per 10
 * entries; the partial-batch response is built the same way (`batchItemFailures` by SequenceNumber).
 */
export function createPublisherHandler(deps: PublisherHandlerDeps) {
  return async function publishBatch(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const signingKey = deps.eventKey ? await deps.eventKey() : deps.signingKey;
    const report = await publishStreamRecords(event.Records, {
      ...deps,
      ...(signingKey ? { signingKey } : {}),
    });
    for (const failure of report.failures) {
      const published = failure.error.name === 'RowCatchUpError';
      deps.logger?.error(
        published
          ? 'stream record published, its home row not caught up: retried'
          : 'stream record not published',
        {
          sequenceNumber: failure.sequenceNumber,
          error: failure.error.name,
          reason: failure.error.message,
        },
      );
    }
    return { batchItemFailures: report.batchItemFailures };
  };
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const logger = new Logger();
const eventBridge = new EventBridgeClient({});
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
let main: ReturnType<typeof createPublisherHandler> | undefined;

/** Events table stream -> PutEvents on this region's replication bus (local-origin events only). */
export const handler = middy((event: DynamoDBStreamEvent) => {
  main ??= publisherMain();
  return main(event);
}).use(injectLambdaContext(logger));

function publisherMain(): ReturnType<typeof createPublisherHandler> {
  const registry = createRegistry(application().aggregates, application().topology(env('MULTIACTIVE_ENV')));
  return createPublisherHandler({
    region: env('MULTIACTIVE_REGION'),
    tierOf: (type) => (registry.has(type) ? registry.get(type).tier : undefined),
    rows: homeRowCatchUp({
      registry,
      events: new EventStore({ client: doc, tableName: env('TABLE_EVENTS') }),
      states: new StateStore({ client: doc, tableName: env('TABLE_STATE') }),
      onError: (key, error) => logger.error('home row not caught up', { key, error: String(error) }),
    }),
    bus: eventBridgeBus({ client: eventBridge }),
    eventBusName: env('EVENT_BUS_NAME'),
    eventKey: secretsManagerInternalKey(internalKeySecretName(env('MULTIACTIVE_ENV'))),
    holds: new DynamoPublishHolds({
      client: doc,
      tableName: env('TABLE_REPLICATION'),
    }),
    logger,
  });
}
