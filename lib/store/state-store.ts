import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { VersionVector } from '../clock/version-vector.ts';
import { isTransactionConflict } from './errors.ts';
import { aggregateKey } from './keys.ts';

/**
 * The projection row of one aggregate. `state` is canonical JSON so that rows can be compared byte for
 * byte across regions.
 */
export interface StateRecord {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Canonical JSON of the folded state. */
  readonly state: string;
  /** Number of events folded (monotonic; guards against overwriting newer state with older). */
  readonly version: number;
  /** Last core sequence number folded (0 for other tiers). */
  readonly seq: number;
  /** Encoded HLC of the newest event folded, null before the first. */
  readonly head: string | null;
  /** Version vector of everything folded (important tier). */
  readonly vv: VersionVector;
  /** Sort key of the last event folded, to catch up from the log. */
  readonly lastSortKey: string | null;
  /** True while a manual conflict is open: the state shows the last common value. */
  readonly frozen: boolean;
  readonly updatedAt: string;
  /**
   * Set while the aggregate declares a due time (`dueAt`): the aggregate type and the time, epoch ms.
   * Keys of the sparse index `byDue`, so overdue aggregates are one Query away.
   */
  readonly dueKey?: string;
  readonly dueAt?: number;
  /**
   * Core: the causationIds of the last commands folded, oldest first (at most RECENT_CAUSES). A retry of
   * a write whose outcome was unknown (503 after its append) finds it here instead of writing it twice.
   */
  readonly causes?: readonly string[];
}

export interface StateStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** The state (projection) table: one row per aggregate, written only forward. */
/** BatchGetItem reads at most 100 keys per call. */
const MAX_BATCH_GET_KEYS = 100;

export class StateStore {
  private readonly client: DynamoDBDocumentClient;
  /** Physical table name (resolved on each call). */
  readonly table: () => string;

  constructor(options: StateStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** The projection row, or undefined for an aggregate with no events. */
  async getState(aggregateType: string, aggregateId: string): Promise<StateRecord | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: { pk: aggregateKey(aggregateType, aggregateId) },
        ConsistentRead: true,
      }),
    );
    if (!result.Item) return undefined;
    const { pk: _pk, ...record } = result.Item;
    return record as StateRecord;
  }

  /**
   * The projection rows of many aggregates, strongly consistent, in BatchGetItem calls of at most 100 keys
   * (unprocessed keys asked again); keyed `type|id`, absent for an aggregate with no row.
   */
  async getStates(
    keys: ReadonlyArray<{ aggregateType: string; aggregateId: string }>,
  ): Promise<Map<string, StateRecord>> {
    const rows = new Map<string, StateRecord>();
    const table = this.table();
    const unique = [...new Map(keys.map((k) => [aggregateKey(k.aggregateType, k.aggregateId), k])).keys()];
    for (let at = 0; at < unique.length; at += MAX_BATCH_GET_KEYS) {
      let pending: Array<Record<string, unknown>> = unique
        .slice(at, at + MAX_BATCH_GET_KEYS)
        .map((pk) => ({ pk }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** round)));
        const result = await this.client.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[table] ?? []) {
          const { pk: _pk, ...record } = item;
          const row = record as StateRecord;
          rows.set(`${row.aggregateType}|${row.aggregateId}`, row);
        }
        pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Array<Record<string, unknown>>;
      }
    }
    return rows;
  }

  /**
   * Writes a projection row only if the stored one is still exactly `expected`; false when it moved. The
   * one way a row may go back (a retired branch, a row rebuilt from its log by Repair).
   */
  async putStateIf(record: StateRecord, expected: ExpectedRow): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: { pk: aggregateKey(record.aggregateType, record.aggregateId), ...record },
          ...rowCondition(expected),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || isTransactionConflict(error)) return false;
      throw error;
    }
  }

  /**
   * `putStateIf` in one transaction with `checks` (ConditionCheck items, e.g. EventStore.slotHolds: the log
   * still holds the events the row was folded from); false when the row moved, a check failed or a
   * concurrent transaction conflicted.
   */
  async putStateIfChecked(
    record: StateRecord,
    expected: ExpectedRow,
    checks: NonNullable<TransactWriteCommandInput['TransactItems']>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [guardedStatePut(this.table(), record, expected), ...checks],
        }),
      );
      return true;
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      // A conflict with a concurrent transaction on the row or the slot: moved meanwhile, read again.
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed') || isTransactionConflict(error))
        return false;
      throw error;
    }
  }

  /**
   * Writes a projection row unless a row with the same or a higher version is already there; returns
   * false when the write lost to a newer one.
   */
  async putState(record: StateRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: { pk: aggregateKey(record.aggregateType, record.aggregateId), ...record },
          ConditionExpression: 'attribute_not_exists(pk) OR version < :version',
          ExpressionAttributeValues: { ':version': record.version },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || isTransactionConflict(error)) return false;
      throw error;
    }
  }
}

/** The row a conditional write expects to replace: its version and, for core rows, its head. */
export interface ExpectedRow {
  readonly version: number;
  readonly head?: string | null;
}

/**
 * The condition "the stored row is still `expected`": absent for version 0, else the same version and (when
 * given) the same head. A core row's version alone does not name it once a retired branch has moved the
 * row back (see retireCoreBranch): version 10 may be head X before and head Y after; the head (a unique
 * HLC per event) does.
 */
function rowCondition(expected: ExpectedRow) {
  if (expected.version === 0) return { ConditionExpression: 'attribute_not_exists(pk)' };
  const withHead = typeof expected.head === 'string';
  return {
    ConditionExpression: withHead ? 'version = :expected AND head = :head' : 'version = :expected',
    ExpressionAttributeValues: {
      ':expected': expected.version,
      ...(withHead ? { ':head': expected.head } : {}),
    },
  };
}

/**
 * A TransactWriteItems Put of a projection row that succeeds only if the stored row is still `expected`.
 * A refused one returns the stored row in its cancellation reason (`ALL_OLD`: the guard's `onFailure`
 * gets it, see `rowSeen`), so the writer that lost the race can retry on it without reading it again.
 */
export function guardedStatePut(tableName: string, record: StateRecord, expected: number | ExpectedRow) {
  return {
    Put: {
      TableName: tableName,
      Item: { pk: aggregateKey(record.aggregateType, record.aggregateId), ...record },
      ...rowCondition(typeof expected === 'number' ? { version: expected } : expected),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  };
}

/** The projection row a refused `guardedStatePut` saw stored (the guard's `onFailure` argument), if any. */
export function rowSeen(seen: Record<string, unknown> | undefined): StateRecord | undefined {
  if (!seen || typeof seen.aggregateId !== 'string' || typeof seen.version !== 'number') return undefined;
  const { pk: _pk, ...record } = seen;
  return record as unknown as StateRecord;
}
