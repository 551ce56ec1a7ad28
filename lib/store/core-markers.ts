import {
  type DynamoDBDocumentClient,
  paginateQuery,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../model/envelope.ts';
import { aggregateKey } from './keys.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Partition key of the core markers of one partition in a region's replication table: one item per core
 * aggregate whose events this region's log has held (sort key = aggregate key), put in the same
 * transaction as every core event written into that log. A strongly consistent query of it therefore
 * lists every core aggregate of the partition the log holds, which the by-partition index of the events
 * table (eventually consistent, with no upper bound on AWS) cannot promise. A marker names the aggregate
 * only, not its head: the head is read from the log itself, so an event deleted later (a retired branch)
 * or two writers racing on one marker can never make it claim what the log does not hold.
 */
export function coreMarkerKey(partition: number): string {
  return `CORE#${partition}`;
}

/** The marker Puts for the core events of one append (one per aggregate), for the append's transaction. */
export function coreMarkerPuts(tableName: string, events: readonly EventEnvelope[]): TransactItem[] {
  const byKey = new Map<string, EventEnvelope>();
  for (const event of events)
    byKey.set(`${event.partition}/${aggregateKey(event.aggregateType, event.aggregateId)}`, event);
  return [...byKey.values()].map((event) => ({
    Put: {
      TableName: tableName,
      Item: {
        pk: coreMarkerKey(event.partition),
        sk: aggregateKey(event.aggregateType, event.aggregateId),
        aggregateType: event.aggregateType,
        aggregateId: event.aggregateId,
      },
    },
  }));
}

/** The core aggregates (type, id) of a partition that a region's log has held (strongly consistent). */
export async function readCoreMarkers(
  client: DynamoDBDocumentClient,
  replicationTable: string,
  partition: number,
): Promise<Array<[string, string]>> {
  const found: Array<[string, string]> = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: replicationTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': coreMarkerKey(partition) },
      ProjectionExpression: 'aggregateType, aggregateId',
      ConsistentRead: true,
    },
  );
  for await (const page of pages)
    for (const item of page.Items ?? []) found.push([String(item.aggregateType), String(item.aggregateId)]);
  return found;
}
