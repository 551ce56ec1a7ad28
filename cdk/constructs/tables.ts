import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import {
  type KeyAttribute,
  TABLE_DEFINITIONS,
  TABLE_KINDS,
  type TableDefinition,
  type TableKind,
  tableName,
} from '../../lib/store/tables.ts';

export interface TablesProps {
  readonly topology: Topology;
}

/** Environment variable through which handlers learn each table's name (`TABLE_EVENTS`, ...). */
export function tableEnvVar(kind: TableKind): string {
  return `TABLE_${kind.toUpperCase()}`;
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
  };
}

/** Translates one definition from `lib/store/tables.ts` (the single source of truth) into table props. */
export function tableProps(definition: TableDefinition, topology: Topology): dynamodb.TableProps {
  const { deletionProtection, pointInTimeRecovery } = topology.tables;
  return {
    tableName: tableName(topology.name, definition.kind),
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
    ...(definition.stream === 'NEW_IMAGE' ? { stream: dynamodb.StreamViewType.NEW_IMAGE } : {}),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    // A KMS key in the account (aws/dynamodb) rather than the AWS-owned default: key use shows in CloudTrail.
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: pointInTimeRecovery },
    deletionProtection,
    // Protected environments keep their data even if the stack is deleted; dev tears down cleanly.
    removalPolicy: deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  };
}

/** The seven tables of one cell, built from TABLE_DEFINITIONS; names are identical in every region. */
export class Tables extends Construct {
  public readonly byKind: Readonly<Record<TableKind, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const byKind = {} as Record<TableKind, dynamodb.Table>;
    for (const kind of TABLE_KINDS) {
      const definition = TABLE_DEFINITIONS[kind];
      const table = new dynamodb.Table(this, kind, tableProps(definition, props.topology));
      for (const index of definition.globalSecondaryIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      byKind[kind] = table;
    }
    this.byKind = byKind;
  }

  /** `TABLE_*` environment variables for every table. */
  environment(): Record<string, string> {
    return Object.fromEntries(TABLE_KINDS.map((kind) => [tableEnvVar(kind), this.byKind[kind].tableName]));
  }
}
