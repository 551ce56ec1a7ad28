import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { TABLE_DEFINITIONS, TABLE_KINDS, type TableDefinition, tableName } from './tables.ts';

/** The CreateTable input for one definition (pay-per-request, like the CDK stacks). */
export function createTableInput(definition: TableDefinition, name: string): CreateTableCommandInput {
  const keys = [
    definition.partitionKey,
    definition.sortKey,
    ...(definition.globalSecondaryIndexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey]),
  ].filter((k) => k !== undefined);
  const attributes = [...new Map(keys.map((k) => [k.name, k])).values()];
  const keySchema = (p: { name: string }, s?: { name: string }) => [
    { AttributeName: p.name, KeyType: 'HASH' as const },
    ...(s ? [{ AttributeName: s.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(definition.globalSecondaryIndexes
      ? {
          GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
    ...(definition.stream
      ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }
      : {}),
  };
}

/** Creates every table of an environment (used by the sandbox and the integration tests). */
export async function createTables(client: DynamoDBClient, env: string): Promise<void> {
  for (const kind of TABLE_KINDS) {
    const definition = TABLE_DEFINITIONS[kind];
    const name = tableName(env, kind);
    await client.send(new CreateTableCommand(createTableInput(definition, name)));
    if (definition.timeToLiveAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { Enabled: true, AttributeName: definition.timeToLiveAttribute },
        }),
      );
    }
  }
}
