import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { aggregateKey } from '../store/keys.ts';
import { type Snapshot, snapshotSortKey } from './snapshot.ts';

export interface SnapshotStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/**
 * Snapshots on DynamoDB (table `snapshots`): pk = the log's aggregate key, sk = `V#<version>`. Local to a
 * region, never replicated: a snapshot is derived data that a load checks against the log before use.
 * @example await new SnapshotStore({ client, tableName }).put(snapshot)
 */
export class SnapshotStore {
  private readonly client: DynamoDBDocumentClient;
  readonly table: () => string;

  constructor(options: SnapshotStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /**
   * Stores a snapshot, over any at the same version: after a retired branch the same version may have
   * another head, and the newer snapshot is the one the log can still confirm (a load checks either).
   */
  async put(snapshot: Snapshot): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table(),
        Item: {
          pk: aggregateKey(snapshot.aggregateType, snapshot.aggregateId),
          sk: snapshotSortKey(snapshot.version),
          ...snapshot,
        },
      }),
    );
  }

  /** The aggregate's snapshots, newest first, following pagination (a load stops at the first usable). */
  async *newestFirst(aggregateType: string, aggregateId: string, pageSize = 4): AsyncGenerator<Snapshot> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table(),
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': aggregateKey(aggregateType, aggregateId) },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: pageSize,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, ...snapshot } = item;
        yield snapshot as Snapshot;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Deletes all but the `keep` newest snapshots of an aggregate; returns how many went. */
  async prune(aggregateType: string, aggregateId: string, keep: number): Promise<number> {
    const older: Snapshot[] = [];
    let seen = 0;
    for await (const snapshot of this.newestFirst(aggregateType, aggregateId, keep + 2))
      if (++seen > keep) older.push(snapshot);
    for (const snapshot of older) {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table(),
          Key: { pk: aggregateKey(aggregateType, aggregateId), sk: snapshotSortKey(snapshot.version) },
        }),
      );
    }
    return older.length;
  }

  /** The newest snapshot, or undefined. */
  async latest(aggregateType: string, aggregateId: string): Promise<Snapshot | undefined> {
    for await (const snapshot of this.newestFirst(aggregateType, aggregateId, 1)) return snapshot;
    return undefined;
  }
}
