import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AppendGuard } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';

/** Sort key of the row that remembers when a gap was first seen. */
export const GAP_SORT_KEY = 'GAP';

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

  /** Parks an event and records when its aggregate's gap was first seen (kept if already set). */
  async park(event: EventEnvelope, seenAt: Date): Promise<void> {
    const pk = parkingKey(event.aggregateType, event.aggregateId);
    await this.client.send(
      new PutCommand({ TableName: this.table(), Item: { pk, sk: eventSortKey('core', event), event } }),
    );
    await this.markGap(event.aggregateType, event.aggregateId, seenAt);
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
