import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { STATE_BY_DUE_INDEX } from '../store/tables.ts';
import type { DueSaga, DueSagaSource } from './ports.ts';

export interface DynamoDueSagaSourceOptions {
  readonly client: DynamoDBDocumentClient;
  /** The state table (its `byDue` index lists rows with a due time). */
  readonly tableName: string | (() => string);
}

/**
 * Overdue sagas from the local state table's sparse `byDue` index (`dueKey` = the saga's aggregate type,
 * `dueAt` = when it needs attention): one Query per saga type, oldest first. The index is eventually
 * consistent: a saga that just finished may still be listed, and resuming it is a no-op.
 * @example await new DynamoDueSagaSource({ client, tableName }).overdue('transfer', Date.now(), 100)
 */
export class DynamoDueSagaSource implements DueSagaSource {
  private readonly table: () => string;

  constructor(private readonly options: DynamoDueSagaSourceOptions) {
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  async overdue(saga: string, now: number, limit: number): Promise<DueSaga[]> {
    const found: DueSaga[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.options.client.send(
        new QueryCommand({
          TableName: this.table(),
          IndexName: STATE_BY_DUE_INDEX,
          KeyConditionExpression: 'dueKey = :saga AND dueAt <= :now',
          ExpressionAttributeValues: { ':saga': saga, ':now': now },
          ProjectionExpression: 'pk, dueAt',
          Limit: limit - found.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        found.push({ saga, sagaId: pk.slice(pk.indexOf('#') + 1), dueAt: Number(item.dueAt) });
      }
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found;
  }
}
