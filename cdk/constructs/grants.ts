import * as iam from 'aws-cdk-lib/aws-iam';
import { peersOf, regionNames, type Topology } from '../../lib/config/index.ts';
import { TABLE_DEFINITIONS, type TableKind, tableName } from '../../lib/store/tables.ts';
import { busArn, internalKeyArnPattern, stateMachineArn, tableArn } from '../naming.ts';
import { type FunctionAccess, TABLE_OPS, type TableOp, type Where } from './access-table.ts';

/** The regions a row applies to, seen from `region`. */
export function regionsOf(topology: Topology, region: string, where: Where): string[] {
  if (where === 'local') return [region];
  if (where === 'peers') return peersOf(topology, region);
  return regionNames(topology);
}

function indexArns(topology: Topology, region: string, kind: TableKind): string[] {
  const table = tableArn(topology, region, tableName(topology.name, kind));
  return (TABLE_DEFINITIONS[kind].globalSecondaryIndexes ?? []).map((i) => `${table}/index/${i.indexName}`);
}

/** Ops that apply to a table's indexes, not to the table. */
const INDEX_OPS: readonly TableOp[] = ['queryIndex', 'scanIndex'];

/** Unique actions of some ops, in a stable order. */
function actionsOf(ops: readonly TableOp[]): string[] {
  return [...new Set(ops.flatMap((op) => TABLE_OPS[op]))].sort();
}

/**
 * IAM statements for one function's rows of the access table: table actions on the named tables of the
 * regions each row covers (index ARNs only for the index ops), StartExecution on the runbooks, reading
 * the internal key, PutEvents on the buses, the read-only calls of other services (`services`, each on the
 * names of this environment). Every ARN is built from deterministic names, so a grant on a peer's table
 * needs no cross-region reference.
 */
export function accessStatements(
  topology: Topology,
  region: string,
  access: FunctionAccess,
): iam.PolicyStatement[] {
  const statements: iam.PolicyStatement[] = [];
  for (const row of access.tables.filter((r) => r.when?.(topology) ?? true)) {
    const regions = regionsOf(topology, region, row.in);
    const itemOps = row.ops.filter((op) => !INDEX_OPS.includes(op));
    const indexOps = row.ops.filter((op) => INDEX_OPS.includes(op));
    if (itemOps.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          actions: actionsOf(itemOps),
          resources: regions.flatMap((r) =>
            row.tables.map((kind) => tableArn(topology, r, tableName(topology.name, kind))),
          ),
        }),
      );
    }
    if (indexOps.length > 0) {
      statements.push(
        new iam.PolicyStatement({
          actions: actionsOf(indexOps),
          resources: regions.flatMap((r) => row.tables.flatMap((kind) => indexArns(topology, r, kind))),
        }),
      );
    }
  }
  const runbooks = [...new Set((access.runbooks ?? []).map((r) => r.runbook))];
  if (runbooks.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: runbooks.map((name) => stateMachineArn(topology, region, name)),
      }),
    );
  }
  if (access.internalKey !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [internalKeyArnPattern(topology, region)],
      }),
    );
  }
  for (const service of access.services ?? []) {
    statements.push(
      new iam.PolicyStatement({
        actions: [...service.actions],
        resources: [...service.resources(topology, region)],
      }),
    );
  }
  const buses = [...new Set(access.buses.flatMap((b) => regionsOf(topology, region, b.in)))];
  if (buses.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: buses.map((r) => busArn(topology, r)),
      }),
    );
  }
  return statements;
}
