import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { partitionIndexKey } from '../store/keys.ts';
import { EVENTS_BY_PARTITION_INDEX } from '../store/tables.ts';
import type { CatchUpCheck } from './rehome.ts';

/** A region's events table, for catch-up checks. */
export interface RegionLog {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

async function eventIds(log: RegionLog, partition: number, origin?: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await log.client.send(
      new QueryCommand({
        TableName: typeof log.tableName === 'string' ? log.tableName : log.tableName(),
        IndexName: EVENTS_BY_PARTITION_INDEX,
        KeyConditionExpression: 'ppk = :ppk',
        ...(origin
          ? {
              FilterExpression: 'origin = :origin',
              ExpressionAttributeValues: { ':ppk': partitionIndexKey(partition), ':origin': origin },
            }
          : { ExpressionAttributeValues: { ':ppk': partitionIndexKey(partition) } }),
        ProjectionExpression: 'eventId',
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) ids.add(String(item.eventId));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return ids;
}

/**
 * The drain predicate of a re-homing on DynamoDB: true when `to`'s log holds every event that `from`
 * itself wrote to the partition (by eventId, over the events-by-partition index). Reads the whole
 * partition once per call: meant for planned moves, not the hot path.
 * @example rehomePartition(map, { partition, to, catchUp: partitionCaughtUp({ 'us-east-1': usLog, 'eu-west-1': euLog }) })
 */
export function partitionCaughtUp(logs: Readonly<Record<string, RegionLog>>): CatchUpCheck {
  return async (partition, from, to) => {
    const source = logs[from];
    const target = logs[to];
    if (!source || !target) throw new Error(`no events table known for ${source ? to : from}`);
    const [written, present] = await Promise.all([
      eventIds(source, partition, from),
      eventIds(target, partition),
    ]);
    for (const id of written) if (!present.has(id)) return false;
    return true;
  };
}
