import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  ScanCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../store/create-tables.ts';
import { TABLE_DEFINITIONS, TABLE_KINDS, type TableKind, tableName } from '../../store/tables.ts';

type Item = Record<string, AttributeValue>;

/**
 * A copy of one region's tables at `takenAt`: the sandbox's stand-in for DynamoDB point-in-time recovery,
 * which DynamoDB Local lacks. Items are kept as raw attribute values, so a restore is byte-exact.
 */
export interface TableCopy {
  readonly region: string;
  readonly env: string;
  /** Wall-clock ms of the copy: the "T" a restore goes back to. */
  readonly takenAt: number;
  readonly items: Readonly<Record<TableKind, readonly Item[]>>;
}

async function scanTable(client: DynamoDBClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Reads every table of an environment in one region (consistent reads) into a TableCopy. */
export async function copyTables(
  client: DynamoDBClient,
  input: { region: string; env: string; takenAt?: number },
): Promise<TableCopy> {
  const takenAt = input.takenAt ?? Date.now();
  const entries = await Promise.all(
    TABLE_KINDS.map(async (kind) => [kind, await scanTable(client, tableName(input.env, kind))] as const),
  );
  return {
    region: input.region,
    env: input.env,
    takenAt,
    items: Object.fromEntries(entries) as Record<TableKind, Item[]>,
  };
}

/** BatchWriteItem in pages of 25, resending what DynamoDB leaves unprocessed. */
async function loadItems(client: DynamoDBClient, table: string, items: readonly Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests: Record<string, NonNullable<BatchWriteItemCommand['input']['RequestItems']>[string]> = {
      [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
    };
    while (Object.keys(requests).length > 0) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: requests }));
      requests = result.UnprocessedItems ?? {};
    }
  }
}

/**
 * Replaces every table of the copy's environment with the copy, as an operator restores a PITR backup
 * into the same table names: delete the table, recreate it without a stream, load the items, then enable
 * the stream. The restored items are not in the new stream (a restored table's stream starts empty), so
 * nothing is republished; everything written after `takenAt` is gone from this region.
 */
export async function restoreTables(client: DynamoDBClient, copy: TableCopy): Promise<void> {
  for (const kind of TABLE_KINDS) {
    const definition = TABLE_DEFINITIONS[kind];
    const name = tableName(copy.env, kind);
    await client.send(new DeleteTableCommand({ TableName: name }));
    const { StreamSpecification, ...withoutStream } = createTableInput(definition, name);
    await client.send(new CreateTableCommand(withoutStream));
    if (definition.timeToLiveAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: definition.timeToLiveAttribute },
        }),
      );
    }
    await loadItems(client, name, copy.items[kind]);
    if (StreamSpecification)
      await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification }));
  }
}

/** How many items the copy holds, per table kind. */
export function copySize(copy: TableCopy): Record<TableKind, number> {
  return Object.fromEntries(TABLE_KINDS.map((kind) => [kind, copy.items[kind].length])) as Record<
    TableKind,
    number
  >;
}
