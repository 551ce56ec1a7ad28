import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLaneHandler } from '../../../functions/applier/handler.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { createBatchApplier, NO_METRICS, type ReplicationMetrics } from '../../../lib/replication/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology, uniqueId } from './cells.ts';

/**
 * The lane's fallback (an aggregate's run refused for good: its events sent one by one) is counted and
 * logged with its reason, so a run DynamoDB refuses (or a bug in the batch path) is visible, not silent.
 */
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);

let origin: Cell;
beforeAll(async () => {
  origin = await makeCell('us-east-1');
});

/** The document client answering a transaction of more than `maxItems` as DynamoDB a body over 16 MB. */
function tooLargeOver(doc: DynamoDBDocumentClient, maxItems: number): DynamoDBDocumentClient {
  const send = doc.send.bind(doc) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  return new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof TransactWriteCommand && (command.input.TransactItems ?? []).length > maxItems)
          return Promise.reject(
            Object.assign(new Error('UnknownError'), {
              name: 'UnknownError',
              $metadata: { httpStatusCode: 413 },
            }),
          );
        return send(command, ...rest);
      };
    },
  });
}

async function refusedRun() {
  const id = uniqueId('fallback');
  const written: EventEnvelope[] = [];
  for (const message of ['a', 'b', 'c'])
    written.push(
      ...(
        await origin.execute({
          aggregateType: 'activity',
          aggregateId: id,
          command: { type: 'AppendEntry', payload: { kind: 'k', message } },
        })
      ).events,
    );
  const target = await makeCell('eu-west-1');
  const counted: Array<{ reason: string; events: number }> = [];
  const metrics: ReplicationMetrics = {
    ...NO_METRICS,
    laneFallback: (reason, events) => void counted.push({ reason, events }),
  };
  const warnings: Array<{ message: string; extra: unknown }> = [];
  const handler = createLaneHandler({
    applyBatch: createBatchApplier({
      region: target.region,
      topology,
      registry,
      clock: target.clock,
      // One event and its row per transaction pass; a run of three is refused with HTTP 413.
      events: new EventStore({
        client: tooLargeOver(target.db.doc, 2),
        tableName: target.db.tables.events,
        coreMarkerTableName: target.db.tables.replication,
      }),
      states: target.states,
      watermarks: target.watermarks,
      parking: target.parking,
      quarantine: target.quarantine,
      conflicts: target.conflicts,
      metrics,
    }),
    logger: {
      info: () => undefined,
      warn: (message: string, extra?: unknown) => void warnings.push({ message, extra }),
    } as never,
  });
  const response = await handler({
    Records: written.map((e, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body: JSON.stringify({ source: 'multiactive.replication', 'detail-type': 'x', detail: e }),
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:lane',
      awsRegion: 'eu-west-1',
    })) as never,
  });
  return {
    response,
    counted,
    warnings,
    version: (await target.states.getState('activity', id))?.version,
    id,
  };
}

describe('ordinary lane: a refused run', () => {
  it('applies its events one by one, counts them in LaneFallbackEvents and logs the reason', async () => {
    const { response, counted, warnings, version, id } = await refusedRun();
    expect(response.batchItemFailures).toEqual([]);
    expect(version).toBe(3);
    expect(counted).toEqual([{ reason: 'UnknownError (HTTP 413)', events: 3 }]);
    expect(warnings).toContainEqual({
      message: 'lane run refused: its events applied one by one',
      extra: { aggregateType: 'activity', aggregateId: id, events: 3, reason: 'UnknownError (HTTP 413)' },
    });
  });

  it('is caught when a 413 is taken for transient (bug switch lane-client-error-transient)', async () => {
    await expect(
      withBug('lane-client-error-transient', async () => {
        const { response, version } = await refusedRun();
        expect(response.batchItemFailures).toEqual([]);
        expect(version).toBe(3);
      }),
    ).rejects.toThrow();
  });
});
