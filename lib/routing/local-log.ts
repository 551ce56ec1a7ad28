import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import type { LocalLog, ReadTarget } from './read-your-writes.ts';

export interface DynamoLocalLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/**
 * The local events table as a `LocalLog`: one strongly consistent GetItem on the event's key
 * (`HLC#<token>` for important/ordinary). Core events are keyed by sequence, so core answers false and
 * read-your-writes uses the state's head for them instead.
 * @example new DynamoLocalLog({ client: doc, tableName: 'multiactive-prod-events' })
 */
export class DynamoLocalLog implements LocalLog {
  private readonly table: () => string;

  constructor(private readonly options: DynamoLocalLogOptions) {
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** True when the event with this HLC is in the aggregate's local log. */
  async containsEvent(target: ReadTarget, hlc: string): Promise<boolean> {
    if (target.tier === 'core') return false;
    const result = await this.options.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: {
          pk: aggregateKey(target.aggregateType, target.aggregateId),
          sk: eventSortKey(target.tier, { seq: 0, hlc }),
        },
        ConsistentRead: true,
        ProjectionExpression: 'eventId',
      }),
    );
    return result.Item !== undefined;
  }
}
