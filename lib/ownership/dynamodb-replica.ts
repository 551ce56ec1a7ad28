import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RegisterRecord } from './register-record.ts';
import type { ControlReplica } from './replica.ts';

/** Sort key of quorum-register items in the control table (pk = the register key). */
export const REGISTER_SORT_KEY = 'REGISTER';

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
    const item = result.Item;
    if (!item) return null;
    return { epoch: Number(item.epoch), ballot: String(item.ballot), value: item.value as V };
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
