import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import type { LocalLog, ReadTarget } from './read-your-writes.ts';
import type { CoreWriteRef } from './token.ts';

export interface DynamoLocalLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/**
 * The local events table as a `LocalLog`: one strongly consistent GetItem on the event's key
 * (`HLC#<token>` for important/ordinary, `SEQ#<seq>` for core, whose event id must then match).
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
    return (await this.eventIdAt(target, { seq: 0, hlc })) !== undefined;
  }

  /** True when the core log's event at `write.seq` is `write.eventId`. */
  async holdsCoreEvent(target: ReadTarget, write: CoreWriteRef): Promise<boolean> {
    if (target.tier !== 'core') return false;
    return (await this.eventIdAt(target, { seq: write.seq, hlc: '' })) === write.eventId;
  }

  private async eventIdAt(target: ReadTarget, at: { seq: number; hlc: string }): Promise<string | undefined> {
    const result = await this.options.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: {
          pk: aggregateKey(target.aggregateType, target.aggregateId),
          sk: eventSortKey(target.tier, at),
        },
        ConsistentRead: true,
        ProjectionExpression: 'eventId',
      }),
    );
    return result.Item ? String(result.Item.eventId) : undefined;
  }
}
