/**
 * Table key schemas and stream settings, defined once: the CDK stacks and the sandbox both build their
 * tables from these definitions.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface TableDefinition {
  /** Suffix of the physical table name: `multiactive-<env>-<kind>`. */
  readonly kind: TableKind;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly stream?: 'NEW_IMAGE';
  readonly timeToLiveAttribute?: string;
  readonly globalSecondaryIndexes?: ReadonlyArray<{
    readonly indexName: string;
    readonly partitionKey: KeyAttribute;
    readonly sortKey?: KeyAttribute;
  }>;
}

export const TABLE_KINDS = [
  'events',
  'state',
  'replication',
  'control',
  'quarantine',
  'idempotency',
  'snapshots',
] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

const pk: KeyAttribute = { name: 'pk', type: 'S' };
const sk: KeyAttribute = { name: 'sk', type: 'S' };

/** Name of the events-by-partition index used by Merkle repair. */
export const EVENTS_BY_PARTITION_INDEX = 'byPartition';

/** Name of the state table's sparse index of aggregates with a due time (sagas in progress). */
export const STATE_BY_DUE_INDEX = 'byDue';

export const TABLE_DEFINITIONS: Readonly<Record<TableKind, TableDefinition>> = {
  /** The event log. pk = aggregate key; sk = `SEQ#<seq>` (core) or `HLC#<hlc>` (important/ordinary). */
  events: {
    kind: 'events',
    partitionKey: pk,
    sortKey: sk,
    stream: 'NEW_IMAGE',
    globalSecondaryIndexes: [
      {
        indexName: EVENTS_BY_PARTITION_INDEX,
        partitionKey: { name: 'ppk', type: 'S' },
        sortKey: { name: 'eventId', type: 'S' },
      },
    ],
  },
  /**
   * One projection row per aggregate: the folded state, its version and causal head. Rows of aggregates
   * that declare a due time carry `dueKey` (the aggregate type) and `dueAt`, and only they are in `byDue`.
   */
  state: {
    kind: 'state',
    partitionKey: pk,
    globalSecondaryIndexes: [
      {
        indexName: STATE_BY_DUE_INDEX,
        partitionKey: { name: 'dueKey', type: 'S' },
        sortKey: { name: 'dueAt', type: 'N' },
      },
    ],
  },
  /** Watermarks per origin, parked core events, conflict records. */
  replication: { kind: 'replication', partitionKey: pk, sortKey: sk },
  /**
   * Control state: partition map with epochs, region status, breakers; and runbook results too big for a
   * Step Functions state (lib/runbooks/spill.ts), which expire (TTL) 15 days after they were written.
   */
  control: { kind: 'control', partitionKey: pk, sortKey: sk, timeToLiveAttribute: 'expiration' },
  /** Poison events with the reason they could not be applied. */
  quarantine: { kind: 'quarantine', partitionKey: pk, sortKey: sk },
  /** Powertools idempotency records for API commands. */
  idempotency: {
    kind: 'idempotency',
    partitionKey: { name: 'id', type: 'S' },
    timeToLiveAttribute: 'expiration',
  },
  /**
   * Snapshots of core aggregates, keyed beside their log: pk = the log's aggregate key, sk = `V#<version>`.
   * A table of its own, with no stream and no index, so a snapshot is never published, never replicated,
   * never counted by Merkle repair (which reads the events table's `byPartition` index) and never returned
   * by a log Query (README "Data lifecycle").
   */
  snapshots: { kind: 'snapshots', partitionKey: pk, sortKey: sk },
};

/** Physical table name for an environment. */
export function tableName(env: string, kind: TableKind): string {
  return `multiactive-${env}-${kind}`;
}

/** All physical table names of an environment, by kind. */
export function tableNames(env: string): Record<TableKind, string> {
  return Object.fromEntries(TABLE_KINDS.map((kind) => [kind, tableName(env, kind)])) as Record<
    TableKind,
    string
  >;
}
