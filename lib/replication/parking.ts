import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AppendGuard } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';

/** Sort key of the row that remembers when a gap was first seen. */
export const GAP_SORT_KEY = 'GAP';

/** Partition of the index of aggregates that have parked events (sk = aggregate key): what the sweeper reads. */
export const PARKED_INDEX_KEY = 'PARKED';

/** An aggregate that has (or recently had) parked core events, as the index lists it. */
export interface ParkedAggregate {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Changes on every park, so the sweeper forgets an entry only if nothing was parked since it looked. */
  readonly token: string;
}

/** Partition of an aggregate's parked core events (sort key = `SEQ#<seq>`, like the events table). */
export function parkingKey(aggregateType: string, aggregateId: string): string {
  return `PARK#${aggregateKey(aggregateType, aggregateId)}`;
}

export interface ParkingStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** Core events that arrived before their predecessors, waiting in the replication table. */
export class ParkingStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: ParkingStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /**
   * Parks an event, records when its aggregate's gap was first seen (kept if already set) and lists the
   * aggregate in the sweeper's index. Returns the eventId of a *different* event already parked at that
   * seq (a branch conflict: nothing is overwritten), else undefined.
   */
  async park(event: EventEnvelope, seenAt: Date): Promise<string | undefined> {
    const pk = parkingKey(event.aggregateType, event.aggregateId);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: { pk, sk: eventSortKey('core', event), event },
          ConditionExpression: 'attribute_not_exists(pk) OR #event.eventId = :id',
          ExpressionAttributeNames: { '#event': 'event' },
          ExpressionAttributeValues: { ':id': event.eventId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const held = error.Item?.event?.M?.eventId?.S;
      return held ?? 'unknown';
    }
    await this.markGap(event.aggregateType, event.aggregateId, seenAt);
    await this.client.send(
      new PutCommand({
        TableName: this.table(),
        Item: {
          pk: PARKED_INDEX_KEY,
          sk: aggregateKey(event.aggregateType, event.aggregateId),
          aggregateType: event.aggregateType,
          aggregateId: event.aggregateId,
          token: ulid(),
        },
      }),
    );
    return undefined;
  }

  /** Every aggregate the index lists as having parked events (strongly consistent). */
  async parkedAggregates(): Promise<ParkedAggregate[]> {
    const found: ParkedAggregate[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PARKED_INDEX_KEY },
        ConsistentRead: true,
      },
    );
    for await (const page of pages)
      for (const item of page.Items ?? [])
        found.push({
          aggregateType: String(item.aggregateType),
          aggregateId: String(item.aggregateId),
          token: String(item.token),
        });
    return found;
  }

  /**
   * Drops an aggregate from the index when nothing of it is parked any more, unless something was parked
   * after `entry` was read (its token changed): a park racing the sweeper keeps its entry.
   */
  async forgetIfDrained(entry: ParkedAggregate): Promise<boolean> {
    if ((await this.parked(entry.aggregateType, entry.aggregateId, 0)).length > 0) return false;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table(),
          Key: { pk: PARKED_INDEX_KEY, sk: aggregateKey(entry.aggregateType, entry.aggregateId) },
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': entry.token },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * A transaction item that holds only while the event after `event` (seq + 1) is not parked: an in-order
   * append carrying it may skip looking for parked successors. A successor parked after that append
   * commits is drained by its own parker, whose re-check after parking sees the append.
   */
  successorNotParked(
    event: Pick<EventEnvelope, 'aggregateType' | 'aggregateId' | 'seq'>,
  ): AppendGuard['item'] {
    return {
      ConditionCheck: {
        TableName: this.table(),
        Key: {
          pk: parkingKey(event.aggregateType, event.aggregateId),
          sk: eventSortKey('core', { seq: event.seq + 1, hlc: '' }),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** Records when the aggregate's gap was first seen, unless it already is. */
  async markGap(aggregateType: string, aggregateId: string, seenAt: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table(),
        Key: { pk: parkingKey(aggregateType, aggregateId), sk: GAP_SORT_KEY },
        UpdateExpression: 'SET firstSeenAt = if_not_exists(firstSeenAt, :at)',
        ExpressionAttributeValues: { ':at': seenAt.getTime() },
      }),
    );
  }

  /** Parked events of an aggregate after `afterSeq`, in sequence order. */
  async parked(aggregateType: string, aggregateId: string, afterSeq: number): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table(),
          KeyConditionExpression: 'pk = :pk AND sk > :after',
          ExpressionAttributeValues: {
            ':pk': parkingKey(aggregateType, aggregateId),
            ':after': eventSortKey('core', { seq: afterSeq, hlc: '' }),
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) if (item.event) events.push(item.event as EventEnvelope);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return events;
  }

  /** Removes a parked event once applied. */
  async unpark(event: EventEnvelope): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.table(),
        Key: { pk: parkingKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
      }),
    );
  }

  /** When the aggregate's current gap was first seen (epoch ms), if it has one. */
  async gapSince(aggregateType: string, aggregateId: string): Promise<number | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: { pk: parkingKey(aggregateType, aggregateId), sk: GAP_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    return result.Item ? Number(result.Item.firstSeenAt) : undefined;
  }

  /** Forgets the gap (nothing is parked any more). */
  async clearGap(aggregateType: string, aggregateId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({
        TableName: this.table(),
        Key: { pk: parkingKey(aggregateType, aggregateId), sk: GAP_SORT_KEY },
      }),
    );
  }
}
