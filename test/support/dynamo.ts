import { inject } from 'vitest';
import { type LocalClients, localClients } from '../../lib/sandbox/dynamodb/clients.ts';
import { createTables, type TableKind, tableNames } from '../../lib/store/index.ts';

let counter = 0;

export interface TestRegion extends LocalClients {
  readonly region: string;
  readonly env: string;
  readonly tables: Record<TableKind, string>;
}

/**
 * Fresh tables for one test region in the run's shared DynamoDB Local. The region name selects
 * DynamoDB Local's namespace, so three regions on one process never see each other's tables.
 */
export async function freshRegion(region = 'us-east-1', prefix = 't'): Promise<TestRegion> {
  const env = `${prefix}${process.pid}x${++counter}x${Date.now().toString(36)}`;
  const clients = localClients(inject('dynamoEndpoint'), region);
  await createTables(clients.dynamodb, env);
  return { ...clients, region, env, tables: tableNames(env) };
}
