import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RegisterRecord } from './register-record.ts';
import type { ControlReplica, ReplicaWrite } from './replica.ts';

/** Sort key of quorum-register items in the control table (pk = the register key). */
export const REGISTER_SORT_KEY = 'REGISTER';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** Conditional puts in flight at once in a batch write (each needs its own condition: no BatchWriteItem). */
const WRITE_CONCURRENCY = 32;
/** Rounds of retrying UnprocessedKeys before a batch read gives up (throttling). */
const MAX_BATCH_ROUNDS = 8;

function toRecord<V>(item: Record<string, unknown>): RegisterRecord<V> {
  return { epoch: Number(item.epoch), ballot: String(item.ballot), value: item.value as V };
}

export interface DynamoControlReplicaOptions {
  /** The region whose control table this is. */
  readonly region: string;
  /** A document client for that region (its endpoint / region). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/**
 * A region's control table as a quorum-register replica. The write rule of `replicaAccepts` is the
 * condition expression, so it is atomic in DynamoDB.
 * @example new DynamoControlReplica({ region: 'eu-west-1', client: euDoc, tableName: 'multiactive-prod-control' })
 */
export class DynamoControlReplica implements ControlReplica {
  readonly region: string;
  /** Physical table name (resolved on each call). */
  readonly table: () => string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: DynamoControlReplicaOptions) {
    this.region = options.region;
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** The record under `key` (strongly consistent), or null. */
  async read<V>(key: string): Promise<RegisterRecord<V> | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: { pk: key, sk: REGISTER_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    return result.Item ? toRecord<V>(result.Item) : null;
  }

  /** Strongly consistent BatchGetItem over every key (100 a call, unprocessed keys retried). */
  async readMany<V>(keys: readonly string[]): Promise<ReadonlyMap<string, RegisterRecord<V> | null>> {
    const found = new Map<string, RegisterRecord<V> | null>(keys.map((key) => [key, null]));
    const table = this.table();
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending: Array<Record<string, unknown>> = chunk.map((pk) => ({ pk, sk: REGISTER_SORT_KEY }));
        for (let round = 1; pending.length > 0; round++) {
          if (round > MAX_BATCH_ROUNDS) throw new Error(`control table ${table}: batch read throttled`);
          const result = await this.client.send(
            new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
          );
          for (const item of result.Responses?.[table] ?? []) found.set(String(item.pk), toRecord<V>(item));
          pending = result.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }),
    );
    return found;
  }

  /** Conditional puts of every item, a bounded number at once; per item whether it was stored. */
  async writeMany<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<boolean[]> {
    const stored = new Array<boolean>(items.length).fill(false);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < items.length; i = next++) {
        const item = items[i]!;
        stored[i] = await this.write(item.key, item.record);
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, items.length) }, worker));
    return stored;
  }

  /** Conditional put: over nothing, a lower epoch, or the same proposal. */
  async write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: {
            pk: key,
            sk: REGISTER_SORT_KEY,
            epoch: record.epoch,
            ballot: record.ballot,
            value: record.value,
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR epoch < :epoch OR (epoch = :epoch AND ballot = :ballot)',
          ExpressionAttributeValues: { ':epoch': record.epoch, ':ballot': record.ballot },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
