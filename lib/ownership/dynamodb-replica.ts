import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RegisterRecord } from './register-record.ts';
import type { ControlReplica, ReplicaWrite, WriteOutcome } from './replica.ts';

/** Sort key of quorum-register items in the control table (pk = the register key). */
export const REGISTER_SORT_KEY = 'REGISTER';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** TransactWriteItems takes at most 100 actions. */
const TRANSACT_LIMIT = 100;
/** Transactions tried for one slice before its remaining items go as single puts (contention). */
const MAX_TRANSACT_ATTEMPTS = 3;
/** Tries of one conditional put met by TransactionConflict (another transaction holds the item). */
const MAX_CONFLICT_ATTEMPTS = 4;
/** First backoff after a TransactionConflict, doubled each try, with jitter (ms). */
const CONFLICT_BACKOFF_MS = 20;
/** Single conditional puts in flight at once when a batch falls back to them. */
const WRITE_CONCURRENCY = 32;
/** The replica rule of `replicaAccepts` as a condition: over nothing, a lower epoch, or the same proposal. */
const ACCEPTS = 'attribute_not_exists(pk) OR epoch < :epoch OR (epoch = :epoch AND ballot = :ballot)';
/** Rounds of retrying UnprocessedKeys before a batch read gives up (throttling). */
const MAX_BATCH_ROUNDS = 8;

/** Waits the backoff before try `attempt + 1` after a TransactionConflict: full jitter, doubling. */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * CONFLICT_BACKOFF_MS * 2 ** (attempt - 1);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Marks refused the items of a cancelled transaction whose condition failed; returns the others. */
function refuseFailedConditions(
  pending: readonly number[],
  reasons: ReadonlyArray<string | undefined>,
  outcomes: WriteOutcome[],
): number[] {
  return pending.filter((i, k) => {
    if (reasons[k] !== 'ConditionalCheckFailed') return true;
    outcomes[i] = 'refused';
    return false;
  });
}

function toRecord<V>(item: Record<string, unknown>): RegisterRecord<V> {
  return { epoch: Number(item.epoch), ballot: String(item.ballot), value: item.value as V };
}

export interface DynamoControlReplicaOptions {
  /** The region whose control table this is. */
  readonly region: string;
  /** A document client for that region (its endpoint / region). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/**
 * A region's control table as a quorum-register replica. The write rule of `replicaAccepts` is the
 * condition expression, so it is atomic in DynamoDB.
 * @example new DynamoControlReplica({ region: 'eu-west-1', client: euDoc, tableName: 'multiactive-prod-control' })
 */
export class DynamoControlReplica implements ControlReplica {
  readonly region: string;
  /** Physical table name (resolved on each call). */
  readonly table: () => string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: DynamoControlReplicaOptions) {
    this.region = options.region;
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  /** The record under `key` (strongly consistent), or null. */
  async read<V>(key: string): Promise<RegisterRecord<V> | null> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.table(),
        Key: { pk: key, sk: REGISTER_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    return result.Item ? toRecord<V>(result.Item) : null;
  }

  /** Strongly consistent BatchGetItem over every key (100 a call, unprocessed keys retried). */
  async readMany<V>(keys: readonly string[]): Promise<ReadonlyMap<string, RegisterRecord<V> | null>> {
    const found = new Map<string, RegisterRecord<V> | null>(keys.map((key) => [key, null]));
    const table = this.table();
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending: Array<Record<string, unknown>> = chunk.map((pk) => ({ pk, sk: REGISTER_SORT_KEY }));
        for (let round = 1; pending.length > 0; round++) {
          if (round > MAX_BATCH_ROUNDS) throw new Error(`control table ${table}: batch read throttled`);
          const result = await this.client.send(
            new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
          );
          for (const item of result.Responses?.[table] ?? []) found.set(String(item.pk), toRecord<V>(item));
          pending = result.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }),
    );
    return found;
  }

  /** Every register record whose key begins with `prefix`: a strongly consistent Scan, page by page. */
  async scan<V>(prefix: string): Promise<ReadonlyMap<string, RegisterRecord<V>>> {
    const found = new Map<string, RegisterRecord<V>>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table(),
          ConsistentRead: true,
          FilterExpression: 'begins_with(pk, :prefix) AND sk = :sk',
          ExpressionAttributeValues: { ':prefix': prefix, ':sk': REGISTER_SORT_KEY },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) found.set(String(item.pk), toRecord<V>(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /**
   * Every item's conditional put, per item whether it was stored (false: refused, or failed, see
   * `writeOutcomes`).
   */
  async writeMany<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<boolean[]> {
    return (await this.writeOutcomes(items)).map((outcome) => outcome === 'stored');
  }

  /**
   * Every item's conditional put, per item stored, refused or failed: up to 100 items in one
   * TransactWriteItems (one request, so one round trip to a remote region instead of one per item in
   * flight). Each put keeps its own condition; a transaction only adds that none is stored unless all
   * are. When it is cancelled, the items whose condition failed are refused and the others, none of them
   * stored, go again in a new transaction (after a backoff when another transaction held one of them:
   * TransactionConflict, e.g. a quorum-peer append's ConditionCheck on a partition register). Past the
   * tries, the rest go as single puts, where one item's error fails that item only. A slice whose
   * transaction fails otherwise (throttling, network: nothing of it stored) fails its items. Writing the
   * same proposal twice is accepted (same epoch and ballot), so going again is harmless.
   */
  async writeOutcomes<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<WriteOutcome[]> {
    const outcomes = new Array<WriteOutcome>(items.length).fill('failed');
    // A transaction refuses two actions on one item: such a batch goes as single puts.
    if (new Set(items.map((i) => i.key)).size !== items.length) {
      await this.putEach(items, [...items.keys()], outcomes);
      return outcomes;
    }
    const slices: number[][] = [];
    for (let i = 0; i < items.length; i += TRANSACT_LIMIT)
      slices.push(Array.from({ length: Math.min(TRANSACT_LIMIT, items.length - i) }, (_, k) => i + k));
    const failures = await Promise.all(
      slices.map((slice) =>
        this.transactSlice(items, slice, outcomes).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    // Nothing stored anywhere and an error to tell: the replica failed as a whole (e.g. unreachable).
    const failure = failures.find((e) => e !== undefined);
    if (failure !== undefined && outcomes.every((o) => o === 'failed')) throw failure;
    return outcomes;
  }

  /** One slice (indices into `items`) in transactions, see `writeOutcomes`; sets `outcomes` per index. */
  private async transactSlice<V>(
    items: ReadonlyArray<ReplicaWrite<V>>,
    slice: readonly number[],
    outcomes: WriteOutcome[],
  ): Promise<void> {
    let pending = slice;
    for (let attempt = 1; pending.length > 1 && attempt <= MAX_TRANSACT_ATTEMPTS; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: pending.map((i) => ({
              Put: this.conditionalPut(items[i]!.key, items[i]!.record),
            })),
          }),
        );
        for (const i of pending) outcomes[i] = 'stored';
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = (error.CancellationReasons ?? []).map((r) => r.Code);
        // Reasons come in the order of the actions; no reason at all: leave it to the single puts.
        if (reasons.length !== pending.length) break;
        pending = refuseFailedConditions(pending, reasons, outcomes);
        if (reasons.includes('TransactionConflict') && attempt < MAX_TRANSACT_ATTEMPTS)
          await conflictBackoff(attempt);
      }
    }
    await this.putEach(items, pending, outcomes);
  }

  /** Single conditional puts of `indices`, a bounded number at once; sets `outcomes` per index. */
  private async putEach<V>(
    items: ReadonlyArray<ReplicaWrite<V>>,
    indices: readonly number[],
    outcomes: WriteOutcome[],
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < indices.length; n = next++) {
        const i = indices[n]!;
        outcomes[i] = await this.write(items[i]!.key, items[i]!.record).then(
          (stored): WriteOutcome => (stored ? 'stored' : 'refused'),
          (): WriteOutcome => 'failed',
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, indices.length) }, worker));
  }

  private conditionalPut<V>(key: string, record: RegisterRecord<V>) {
    return {
      TableName: this.table(),
      Item: {
        pk: key,
        sk: REGISTER_SORT_KEY,
        epoch: record.epoch,
        ballot: record.ballot,
        value: record.value,
      },
      ConditionExpression: ACCEPTS,
      ExpressionAttributeValues: { ':epoch': record.epoch, ':ballot': record.ballot },
    };
  }

  /**
   * Conditional put: over nothing, a lower epoch, or the same proposal. A TransactionConflict (another
   * transaction holds the item) is tried again with a backoff, then thrown: never reported as refused.
   */
  async write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    return putRetryingConflicts(this.client, this.conditionalPut(key, record));
  }
}

/**
 * A conditional put of a control-table item that transactions also check: true when stored, false when its
 * condition refused it; a TransactionConflict (another transaction holds the item, not a refusal) is tried
 * again with a backoff a few times, then thrown, as is any other error.
 */
export async function putRetryingConflicts(
  client: DynamoDBDocumentClient,
  input: PutCommandInput,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new PutCommand(input));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      if (!(error instanceof TransactionConflictException) || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
      await conflictBackoff(attempt);
    }
  }
}
