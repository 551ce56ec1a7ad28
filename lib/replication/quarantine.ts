import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { PoisonReason } from './errors.ts';

/** Counter row of quarantined events (pk, sk). */
export const QUARANTINE_COUNTER = { pk: 'Q#COUNT', sk: 'total' } as const;
/** Characters per stored part of a raw event: <= 300 KB of UTF-8, under DynamoDB's 400 KB item limit. */
const PART_CHARS = 100_000;

/** What is kept about a quarantined event. */
export interface QuarantineEntry {
  readonly reason: PoisonReason;
  readonly message: string;
  /** The event exactly as received (the EventBridge event or the bare envelope). */
  readonly raw: unknown;
  readonly receivedAt: Date;
  readonly context?: Readonly<Record<string, unknown>>;
}

/** Where the applier puts poison events: never thrown in a loop, never dropped. */
export interface QuarantinePort {
  /** Stores the entry once (same raw bytes again are not stored twice); true when stored now. */
  quarantine(entry: QuarantineEntry): Promise<boolean>;
  count(): Promise<number>;
}

export interface QuarantineStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** Identity of a quarantined event: a hash of its raw bytes (redeliveries of the same event collapse). */
export function quarantineId(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 32);
}

function field(raw: unknown, name: string): string | undefined {
  const detail = (raw as { detail?: unknown } | null)?.detail ?? raw;
  const value = (detail as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The quarantine table: pk `Q#<yyyy-mm-dd>`, sk `<receivedAt>#<id>`, the raw event (split into parts
 * `...#p<n>` beyond 100k characters), a `QID#<id>` marker that makes redeliveries a no-op, and a counter.
 */
export class QuarantineStore implements QuarantinePort {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: QuarantineStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  async quarantine(entry: QuarantineEntry): Promise<boolean> {
    const raw = JSON.stringify(entry.raw) ?? String(entry.raw);
    const id = quarantineId(raw);
    const receivedAt = entry.receivedAt.toISOString();
    const pk = `Q#${receivedAt.slice(0, 10)}`;
    const sk = `${receivedAt}#${id}`;
    const parts = Math.max(1, Math.ceil(raw.length / PART_CHARS));
    const TableName = this.table();
    const record = {
      pk,
      sk,
      id,
      reason: entry.reason,
      message: entry.message,
      receivedAt,
      eventId: field(entry.raw, 'eventId'),
      origin: field(entry.raw, 'origin'),
      aggregateType: field(entry.raw, 'aggregateType'),
      aggregateId: field(entry.raw, 'aggregateId'),
      context: JSON.stringify(entry.context ?? {}),
      rawBytes: Buffer.byteLength(raw, 'utf8'),
      rawParts: parts,
      raw: raw.slice(0, PART_CHARS),
    };
    const extraParts = Array.from({ length: parts - 1 }, (_, i) => ({
      Put: {
        TableName,
        Item: { pk, sk: `${sk}#p${i + 1}`, raw: raw.slice((i + 1) * PART_CHARS, (i + 2) * PART_CHARS) },
      },
    }));
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName,
                Item: { pk: `QID#${id}`, sk: '-', at: { pk, sk } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName, Item: JSON.parse(JSON.stringify(record)) } },
            ...extraParts,
            {
              Update: {
                TableName,
                Key: QUARANTINE_COUNTER,
                UpdateExpression: 'ADD #count :one',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  async count(): Promise<number> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.table(), Key: QUARANTINE_COUNTER, ConsistentRead: true }),
    );
    return Number(result.Item?.count ?? 0);
  }
}
