import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { toHttpError } from '../../lib/api/http-error.ts';
import { LOCAL_CREDENTIALS } from '../../lib/sandbox/dynamodb/clients.ts';
import { AppendTimeoutError, EventStore } from '../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../support/dynamo.ts';
import { sampleEnvelope } from '../support/envelopes.ts';

let region: TestRegion;
let slow: EventStore;
let plain: EventStore;

/** A real DynamoDB Local client whose requests wait `ms` before they go out (a slow network). */
function slowClient(ms: number): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'slowNetwork' },
  );
  return DynamoDBDocumentClient.from(client);
}

beforeAll(async () => {
  region = await freshRegion();
  slow = new EventStore({
    client: slowClient(300),
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  plain = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
});

describe('a core append bounded in flight (fencing budget appendTimeoutMs)', () => {
  it('aborts an append that does not answer in time: AppendTimeoutError, a retryable 503', async () => {
    const event = sampleEnvelope({ aggregateId: 'slow-1', seq: 1 });
    const error = await slow.appendEvents([event], { tier: 'core', timeoutMs: 50 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(AppendTimeoutError);
    expect(toHttpError(error)).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' } });
    // Aborted before it left: nothing was stored.
    expect(await plain.loadStream('account', 'slow-1')).toEqual([]);
  });

  it('lets an append that answers within its timeout through, guards and all', async () => {
    const event = sampleEnvelope({ aggregateId: 'slow-2', seq: 1 });
    const guard = { item: plain.slotFree('account', 'slow-2', 2), onFailure: () => new Error('taken') };
    expect(await slow.appendEvents([event], { tier: 'core', guards: [guard], timeoutMs: 5_000 })).toEqual({
      appended: 1,
      duplicates: 0,
    });
    expect(await plain.loadStream('account', 'slow-2')).toEqual([event]);
  });
});
