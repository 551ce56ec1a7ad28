import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';

/** Partition of the publish holds in the origin's replication table (sort key `<hlc>#<id>`). */
export const PUBLISH_HOLD_KEY = 'PUBLISH_HOLD';

/** A local event the publisher failed to put on the bus: its id (eventId, or the stream record's) and HLC. */
export interface PublishHold {
  readonly id: string;
  readonly hlc: string;
  /** The event's partition (absent on holds written before it was recorded): where Repair looks it up. */
  readonly partition?: number;
}

/**
 * The origin's record of events it has not managed to publish (port). The publisher holds every record it
 * reports as failed and releases it once published; a batch the stream mapping gives up on (its on-failure
 * destination, the stream DLQ) stays held until it is redriven. The heartbeat carries the oldest hold, so no
 * peer's watermark from this origin moves past it: lag and the RPO window never look better than they are.
 */
export interface PublishHolds {
  hold(entries: readonly PublishHold[]): Promise<void>;
  /** Releases the holds of these ids, if any are held (one read when none is). */
  release(ids: readonly string[]): Promise<void>;
  /** The oldest HLC held, or undefined when every event was published. */
  oldest(): Promise<string | undefined>;
}

/** Publish holds in the region's replication table. */
export class DynamoPublishHolds implements PublishHolds {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string | (() => string) }) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  async hold(entries: readonly PublishHold[]): Promise<void> {
    for (const { id, hlc, partition } of entries)
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: {
            pk: PUBLISH_HOLD_KEY,
            sk: `${hlc}#${id}`,
            id,
            hlc,
            ...(partition === undefined ? {} : { partition }),
            at: new Date().toISOString(),
          },
        }),
      );
  }

  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const wanted = new Set(ids);
    const held = (await this.list()).filter((h) => wanted.has(h.id));
    for (let i = 0; i < held.length; i += 25)
      await this.client.send(
        new BatchWriteCommand({
          RequestItems: {
            [this.table()]: held
              .slice(i, i + 25)
              .map((h) => ({ DeleteRequest: { Key: { pk: PUBLISH_HOLD_KEY, sk: `${h.hlc}#${h.id}` } } })),
          },
        }),
      );
  }

  async oldest(): Promise<string | undefined> {
    const first = (await this.page(undefined, 1)).Items?.[0];
    return first ? String(first.hlc) : undefined;
  }

  /** Every hold, oldest first. */
  async list(): Promise<PublishHold[]> {
    const holds: PublishHold[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.page(start);
      for (const item of page.Items ?? [])
        holds.push({
          id: String(item.id),
          hlc: String(item.hlc),
          ...(typeof item.partition === 'number' ? { partition: item.partition } : {}),
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return holds;
  }

  /** One page of holds, oldest first (sort keys start with the HLC). */
  private page(start: Record<string, unknown> | undefined, limit?: number) {
    return this.client.send(
      new QueryCommand({
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': PUBLISH_HOLD_KEY },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(limit ? { Limit: limit } : {}),
      }),
    );
  }
}
