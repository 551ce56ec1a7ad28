import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeHlc } from '../clock/hlc.ts';

/** Partition of the watermark rows in the replication table (sort key = origin region). */
export const WATERMARK_KEY = 'WATERMARK';

/** The newest HLC applied here from one origin (events or heartbeats). */
export interface Watermark {
  readonly origin: string;
  /** Encoded HLC; only ever moves forward. */
  readonly hlc: string;
  /** Physical part of `hlc` in epoch ms. */
  readonly wall: number;
  /** When it was applied (ISO). */
  readonly appliedAt: string;
}

/** Replication lag from an origin: now minus the wall time of the newest HLC applied from it. */
export function lagMs(now: number, watermark: Pick<Watermark, 'hlc'> | undefined): number | null {
  if (!watermark) return null;
  return Math.max(0, now - decodeHlc(watermark.hlc).wall);
}

export interface WatermarkStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** Watermarks per origin in the replication table; `advance` is a monotonic max. */
export class WatermarkStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: WatermarkStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** Moves the origin's watermark to `hlc` if it is newer; returns false when it was not. */
  async advance(origin: string, hlc: string, appliedAt: Date): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table(),
          Key: { pk: WATERMARK_KEY, sk: origin },
          UpdateExpression: 'SET hlc = :hlc, wall = :wall, appliedAt = :at, origin = :origin',
          // Encoded HLCs of one origin compare as strings in logical order.
          ConditionExpression: 'attribute_not_exists(hlc) OR hlc < :hlc',
          ExpressionAttributeValues: {
            ':hlc': hlc,
            ':wall': decodeHlc(hlc).wall,
            ':at': appliedAt.toISOString(),
            ':origin': origin,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Every origin's watermark. */
  async list(): Promise<Watermark[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': WATERMARK_KEY },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      origin: String(item.origin),
      hlc: String(item.hlc),
      wall: Number(item.wall),
      appliedAt: String(item.appliedAt),
    }));
  }

  /** One origin's watermark, if any event from it was applied. */
  async watermarkFor(origin: string): Promise<Watermark | undefined> {
    return (await this.list()).find((w) => w.origin === origin);
  }
}
