import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { aggregateKey } from '../store/keys.ts';
import {
  CONFLICT_STATUS,
  type ConflictPair,
  type ConflictStatus,
  conflictPairId,
  type LwwOutcome,
} from './records.ts';

/**
 * A stored conflict record (replication table, pk `CONFLICT#<aggregateKey>`, sk `<idA>#<idB>`). A manual
 * one (no `policy`) is open until an operator resolves it; an `lww` one is resolved as it is recorded,
 * naming the winner and the loser, and kept for audit.
 */
export interface ConflictRecord extends ConflictPair {
  readonly status: ConflictStatus;
  readonly detectedAt: string;
  readonly policy?: 'lww';
  readonly winner?: string;
  readonly loser?: string;
}

/** Where conflict records live; the sandbox and tests use the DynamoDB adapter below. */
export interface ConflictRecordPort {
  /** Creates an open record unless the pair already has one; true when this call created it. */
  createOpen(pair: ConflictPair, detectedAt: string): Promise<boolean>;
  /** Marks a pair resolved (creating the record if absent); keeps the smallest `resolvedBy`. */
  markResolved(pair: ConflictPair & { resolvedBy: string }, at: string): Promise<void>;
  /**
   * Records a pair the policy settled by itself (lww), resolved and never in the open index, unless the
   * pair already has a record; true when this call created it. Every field is a function of the pair.
   */
  recordSettled(pair: ConflictPair, outcome: LwwOutcome): Promise<boolean>;
  listForAggregate(aggregateType: string, aggregateId: string): Promise<ConflictRecord[]>;
  /**
   * Deletes a pair's record while it is still open (never a resolved one), with its open-index entry; true
   * when this call deleted it. A branch retire refused after queueing takes back what it created.
   */
  withdrawOpen?(pair: ConflictPair): Promise<boolean>;
  /**
   * Replaces a pair's record with `pair` while it is still open and its `versions.orphan` is the event
   * `orphanWas` (a core-branch record naming the other event of the pair as the lost one); true when this
   * call replaced it. A branch retire whose pair is taken by a stale reversed record (the other event lost
   * once, then won after a move of the home) rewrites it to name the event it retires.
   */
  replaceOpen?(pair: ConflictPair, orphanWas: string, detectedAt: string): Promise<boolean>;
  /**
   * The records (open or resolved) whose `versions.orphan` is one of these events: the core-branch records
   * of retired events, found without knowing their aggregates. A scan of the queue's table: for the rare
   * lookup Repair makes of a held event no open record carries. Absent where a store cannot scan.
   */
  listCarrying?(eventIds: readonly string[]): Promise<ConflictRecord[]>;
  /** Every open record (the manual conflict queue); absent where a store cannot list them. */
  listOpen?(): Promise<ConflictRecord[]>;
  countOpen(): Promise<number>;
}

export interface ConflictRecordStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
}

/** Partition of the index of open conflicts (one item per open pair, so counting is one Query). */
export const OPEN_CONFLICTS_KEY = 'CONFLICTS_OPEN';

/** Partition key of an aggregate's conflict records. */
export function conflictRecordKey(aggregateType: string, aggregateId: string): string {
  return `CONFLICT#${aggregateKey(aggregateType, aggregateId)}`;
}

function isCancelled(error: unknown): boolean {
  return error instanceof TransactionCanceledException;
}

/** Conflict records in the replication table, with an index of open ones. */
export class ConflictRecordStore implements ConflictRecordPort {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;

  constructor(options: ConflictRecordStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
  }

  async createOpen(pair: ConflictPair, detectedAt: string): Promise<boolean> {
    const pk = conflictRecordKey(pair.aggregateType, pair.aggregateId);
    const sk = conflictPairId(...pair.eventIds);
    // No `resolvedBy` attribute while open: markResolved's condition tests for its absence.
    const { resolvedBy: _none, ...open } = pair;
    const record = { ...open, status: CONFLICT_STATUS.open, detectedAt };
    try {
      await sendRetryingConflicts(
        this.client,
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table(),
                Item: { pk, sk, ...record },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: this.table(), Item: { pk: OPEN_CONFLICTS_KEY, sk: `${pk}#${sk}` } } },
          ],
        }),
      );
      return true;
    } catch (error) {
      // The pair already has a record (open or resolved): nothing to create, nothing to announce.
      if (isCancelled(error) && cancelledOnFirst(error)) return false;
      throw error;
    }
  }

  async markResolved(pair: ConflictPair & { resolvedBy: string }, at: string): Promise<void> {
    const pk = conflictRecordKey(pair.aggregateType, pair.aggregateId);
    const sk = conflictPairId(...pair.eventIds);
    try {
      await sendRetryingConflicts(
        this.client,
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table(),
                Key: { pk, sk },
                UpdateExpression:
                  'SET #status = :resolved, resolvedBy = :by, resolvedAt = :at, aggregateType = :type, ' +
                  'aggregateId = :id, eventIds = :ids, hlcs = :hlcs, origins = :origins, ' +
                  'detectedAt = if_not_exists(detectedAt, :at)',
                // Two resolutions may both cover a pair: keep the smallest eventId, whatever the order.
                ConditionExpression: 'attribute_not_exists(resolvedBy) OR resolvedBy > :by',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':resolved': CONFLICT_STATUS.resolved,
                  ':by': pair.resolvedBy,
                  ':at': at,
                  ':type': pair.aggregateType,
                  ':id': pair.aggregateId,
                  ':ids': pair.eventIds,
                  ':hlcs': pair.hlcs,
                  ':origins': pair.origins,
                },
              },
            },
            { Delete: { TableName: this.table(), Key: { pk: OPEN_CONFLICTS_KEY, sk: `${pk}#${sk}` } } },
          ],
        }),
      );
    } catch (error) {
      if (isCancelled(error) && cancelledOnFirst(error)) return;
      throw error;
    }
  }

  async withdrawOpen(pair: ConflictPair): Promise<boolean> {
    const pk = conflictRecordKey(pair.aggregateType, pair.aggregateId);
    const sk = conflictPairId(...pair.eventIds);
    try {
      await sendRetryingConflicts(
        this.client,
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table(),
                Key: { pk, sk },
                ConditionExpression: '#status = :open AND attribute_not_exists(resolvedBy)',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':open': CONFLICT_STATUS.open },
              },
            },
            { Delete: { TableName: this.table(), Key: { pk: OPEN_CONFLICTS_KEY, sk: `${pk}#${sk}` } } },
          ],
        }),
      );
      return true;
    } catch (error) {
      // Resolved (or gone) meanwhile: an operator's decision stands.
      if (isCancelled(error) && cancelledOnFirst(error)) return false;
      throw error;
    }
  }

  async replaceOpen(pair: ConflictPair, orphanWas: string, detectedAt: string): Promise<boolean> {
    const pk = conflictRecordKey(pair.aggregateType, pair.aggregateId);
    const sk = conflictPairId(...pair.eventIds);
    const { resolvedBy: _none, ...open } = pair;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: { pk, sk, ...open, status: CONFLICT_STATUS.open, detectedAt },
          ConditionExpression:
            '#status = :open AND attribute_not_exists(resolvedBy) AND #v.#o.eventId = :was',
          ExpressionAttributeNames: { '#status': 'status', '#v': 'versions', '#o': 'orphan' },
          ExpressionAttributeValues: { ':open': CONFLICT_STATUS.open, ':was': orphanWas },
        }),
      );
      return true;
    } catch (error) {
      // Resolved, withdrawn or rewritten meanwhile: nothing replaced.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async recordSettled(pair: ConflictPair, outcome: LwwOutcome): Promise<boolean> {
    const { detectedAt, ...settled } = outcome;
    const record: ConflictRecord = {
      ...pair,
      resolvedBy: outcome.winner,
      status: CONFLICT_STATUS.resolved,
      detectedAt,
      ...settled,
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: {
            pk: conflictRecordKey(pair.aggregateType, pair.aggregateId),
            sk: conflictPairId(...pair.eventIds),
            ...record,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async listForAggregate(aggregateType: string, aggregateId: string): Promise<ConflictRecord[]> {
    const records: ConflictRecord[] = [];
    for await (const page of this.queryPages(conflictRecordKey(aggregateType, aggregateId))) {
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, resolvedAt: _at, ...record } = item;
        records.push({ resolvedBy: null, ...record } as ConflictRecord);
      }
    }
    return records;
  }

  /** Every open record of this region (through the open index, then each aggregate's records). */
  async listOpen(): Promise<ConflictRecord[]> {
    const aggregates = new Map<string, { type: string; id: string }>();
    for await (const page of this.queryPages(OPEN_CONFLICTS_KEY)) {
      // sk = CONFLICT#<type>#<id>#<eventIdA>#<eventIdB>; eventIds (ULIDs) hold no '#'.
      for (const item of page.Items ?? []) {
        const parts = String(item.sk).split('#').slice(1, -2);
        const [type, ...id] = parts;
        if (type) aggregates.set(parts.join('#'), { type, id: id.join('#') });
      }
    }
    const lists = await Promise.all([...aggregates.values()].map((a) => this.listForAggregate(a.type, a.id)));
    return lists.flat().filter((r) => r.status === CONFLICT_STATUS.open);
  }

  async listCarrying(eventIds: readonly string[]): Promise<ConflictRecord[]> {
    const wanted = new Set(eventIds);
    const records: ConflictRecord[] = [];
    if (wanted.size === 0) return records;
    const pages = paginateScan(
      { client: this.client },
      {
        TableName: this.table(),
        FilterExpression: 'begins_with(pk, :conflict) AND #kind = :kind',
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: { ':conflict': 'CONFLICT#', ':kind': 'core-branch' },
        ConsistentRead: true,
      },
    );
    for await (const page of pages)
      for (const item of page.Items ?? []) {
        const orphan = (item.versions as { orphan?: { eventId?: string } } | undefined)?.orphan?.eventId;
        if (!orphan || !wanted.has(orphan)) continue;
        const { pk: _pk, sk: _sk, resolvedAt: _at, ...record } = item;
        records.push({ resolvedBy: null, ...record } as ConflictRecord);
      }
    return records;
  }

  async countOpen(): Promise<number> {
    let count = 0;
    for await (const page of this.queryPages(OPEN_CONFLICTS_KEY, { Select: 'COUNT' }))
      count += page.Count ?? 0;
    return count;
  }

  /** Every page of one partition key, strongly consistent (the SDK's paginator follows LastEvaluatedKey). */
  private queryPages(pk: string, extra: Partial<QueryCommandInput> = {}) {
    return paginateQuery(
      { client: this.client },
      {
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...extra,
      },
    );
  }
}

/** A transaction cancelled only because its first item's condition failed (not throttling/conflict). */
function cancelledOnFirst(error: unknown): boolean {
  const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
  return reasons[0]?.Code === 'ConditionalCheckFailed';
}

/** Transactions on the same pair from two appliers can collide (TransactionConflict): try again briefly. */
async function sendRetryingConflicts(client: DynamoDBDocumentClient, command: TransactWriteCommand) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.send(command);
    } catch (error) {
      const reasons = isCancelled(error)
        ? ((error as TransactionCanceledException).CancellationReasons ?? [])
        : [];
      const collided = reasons.some((r) => r.Code === 'TransactionConflict');
      if (!collided || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10));
    }
  }
}
