import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Tier } from '../config/schema.ts';
import { jsonBytes } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from './archived-stub.ts';
import { quorumMarkerPut } from './copy-markers.ts';
import { coreMarkerPuts } from './core-markers.ts';
import {
  AppendTimeoutError,
  ArchivedStubAppendError,
  ConcurrencyError,
  CoreMarkersNotConfiguredError,
  EventTooLargeError,
  GuardFailedError,
  TooManyEventsError,
} from './errors.ts';
import { aggregateKey, eventSortKey } from './keys.ts';
import { fromEventItem, fromRawEventItem, toEventItem } from './marshal.ts';

/** DynamoDB's TransactWriteItems limit. */
export const MAX_TRANSACTION_ITEMS = 100;

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** An extra condition an append must satisfy atomically (e.g. the partition epoch for fencing). */
export interface AppendGuard {
  /** A ConditionCheck or Put/Update item for the same transaction. */
  readonly item: TransactItem;
  /**
   * The error to throw when this guard's condition fails; `seen` is the item the condition was checked
   * against (document form), when the guard's item asked for it (`ReturnValuesOnConditionCheckFailure:
   * 'ALL_OLD'`) and the item existed: as current as a strongly consistent read at that moment.
   */
  readonly onFailure: (seen?: Record<string, unknown>) => Error;
}

export interface AppendOptions {
  readonly tier: Tier;
  readonly guards?: readonly AppendGuard[];
  /**
   * Aborts the SDK call (retries included) after this many ms with AppendTimeoutError: the bound on a
   * fenced core append's time in flight (lib/ownership/fencing-budget.ts).
   */
  readonly timeoutMs?: number;
  /**
   * Core events received from another region's log (the replication applier): the copy marker naming the
   * newest rides in the same transaction, so a failover that seals and collects this region sees them as
   * it sees quorum copies (`quorumMarkerKey`). Appends are at the log's head (a core event is logged only
   * on top of its predecessor), so the unconditional marker never moves back along one branch.
   */
  readonly received?: boolean;
}

export interface AppendResult {
  /** Events written now. */
  readonly appended: number;
  /** Events already present with the same eventId (idempotent replays). */
  readonly duplicates: number;
}

export interface EventStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string | (() => string);
  /** Largest event (JSON bytes) accepted; default 256 KiB. */
  readonly maxEventBytes?: number;
  /**
   * The region's replication table, where every core append puts its core markers in the same transaction
   * (`coreMarkerKey`). Required to append core events (a read-only store may leave it out).
   */
  readonly coreMarkerTableName?: string | (() => string);
}

export interface LoadOptions {
  /** Only events whose sort key is greater than this. */
  readonly afterSortKey?: string;
  readonly pageSize?: number;
  readonly consistentRead?: boolean;
}

/**
 * The event log on DynamoDB: conditional appends (optimistic concurrency for core, HLC keys for the
 * other tiers), idempotent by eventId, atomic for the events of one command.
 * @example await store.appendEvents([envelope], { tier: 'core' })
 */
export class EventStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: () => string;
  private readonly markerTable: (() => string) | undefined;
  readonly maxEventBytes: number;

  constructor(options: EventStoreOptions) {
    this.client = options.client;
    const name = options.tableName;
    this.table = typeof name === 'string' ? () => name : name;
    const markers = options.coreMarkerTableName;
    this.markerTable = typeof markers === 'string' ? () => markers : markers;
    this.maxEventBytes = options.maxEventBytes ?? 256 * 1024;
  }

  /** Appends the events of one command atomically; same eventIds again are a no-op. */
  /** A transaction item (for `guards`) that holds while core slot `seq` of the aggregate is empty. */
  slotFree(aggregateType: string, aggregateId: string, seq: number): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table(),
        Key: { pk: aggregateKey(aggregateType, aggregateId), sk: eventSortKey('core', { seq, hlc: '' }) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** A transaction item that holds while core slot `event.seq` of its aggregate holds that very event. */
  slotHolds(event: Pick<EventEnvelope, 'aggregateType' | 'aggregateId' | 'seq' | 'eventId'>): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table(),
        Key: {
          pk: aggregateKey(event.aggregateType, event.aggregateId),
          sk: eventSortKey('core', { seq: event.seq, hlc: '' }),
        },
        ConditionExpression: 'eventId = :eventId',
        ExpressionAttributeValues: { ':eventId': event.eventId },
      },
    };
  }

  /**
   * The transaction items an append of these events would write (each event conditionally on its free key,
   * then the guards and the core markers), for a caller that groups several aggregates' appends in one
   * TransactWriteItems. Such a group is all or nothing: one condition failing cancels it, duplicates
   * included (appendEvents sorts those out; a group's caller appends its aggregates one by one instead).
   */
  appendItems(events: readonly EventEnvelope[], options: Omit<AppendOptions, 'timeoutMs'>): TransactItem[] {
    for (const event of events) this.assertAppendable(event);
    const guards = [...(options.guards ?? []), ...this.markersOf(events, options)];
    return [...this.eventItems(events, options.tier), ...guards.map((g) => g.item)];
  }

  /**
   * Writes the items of several aggregates' appends (appendItems, each with its own guards) in one
   * TransactWriteItems: all or nothing. A refusal is thrown as DynamoDB gives it (a cancellation names no
   * single append: its caller appends each aggregate again on its own, where appendEvents sorts it out).
   */
  async commitGrouped(items: readonly TransactItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.client.send(new TransactWriteCommand({ TransactItems: [...items] }));
  }

  /**
   * Every append path (appendEvents, and appendItems for Repair's grouped transactions) refuses an
   * archived stub: its payload is in the archive, and a log that took it could never be folded.
   */
  private assertAppendable(event: EventEnvelope): void {
    if (isArchivedStub(event)) throw new ArchivedStubAppendError(event.aggregateId, event.eventId);
    this.assertSize(event);
  }

  private eventItems(events: readonly EventEnvelope[], tier: Tier): TransactItem[] {
    return events.map((event) => ({
      Put: {
        TableName: this.table(),
        Item: toEventItem(tier, event),
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    }));
  }

  async appendEvents(events: readonly EventEnvelope[], options: AppendOptions): Promise<AppendResult> {
    if (events.length === 0) return { appended: 0, duplicates: 0 };
    const guards = [...(options.guards ?? []), ...this.markersOf(events, options)];
    if (events.length + guards.length > MAX_TRANSACTION_ITEMS) {
      throw new TooManyEventsError(events.length, MAX_TRANSACTION_ITEMS - guards.length);
    }
    for (const event of events) this.assertAppendable(event);
    const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    try {
      if (events.length === 1 && guards.length === 0)
        return await this.putOne(events[0]!, options.tier, signal);
      return await this.putMany(events, { tier: options.tier, guards, signal });
    } catch (error) {
      if (!signal?.aborted || !isAbort(error)) throw error;
      throw new AppendTimeoutError(events[0]!.aggregateId, options.timeoutMs!, { cause: error });
    }
  }

  /**
   * The core markers of a core append, as guards that never fail (unconditional Puts): the marker rides in
   * the events' own transaction, so no core event is ever in this log without its marker.
   */
  private markersOf(events: readonly EventEnvelope[], options: AppendOptions): AppendGuard[] {
    if (options.tier !== 'core') return [];
    const table = this.markerTable?.();
    if (!table) throw new CoreMarkersNotConfiguredError(events[0]!.aggregateId);
    const never = () => new GuardFailedError('an unconditional core marker Put cannot fail a condition');
    const received = options.received ? receivedMarkerPuts(table, events) : [];
    return [...coreMarkerPuts(table, events), ...received].map((item) => ({ item, onFailure: never }));
  }

  /** Loads an aggregate's events in key order, following DynamoDB pagination. */
  async loadStream(
    aggregateType: string,
    aggregateId: string,
    options: LoadOptions = {},
  ): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    for await (const page of this.pages(aggregateType, aggregateId, options)) events.push(...page);
    return events;
  }

  /** The aggregate's last event in key order (for core: its log's head), strongly consistent. */
  async latest(aggregateType: string, aggregateId: string): Promise<EventEnvelope | undefined> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': aggregateKey(aggregateType, aggregateId) },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = page.Items?.[0];
    return item ? fromEventItem(item) : undefined;
  }

  /** Pages of an aggregate's events in key order. */
  async *pages(
    aggregateType: string,
    aggregateId: string,
    options: LoadOptions = {},
  ): AsyncGenerator<EventEnvelope[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table(),
          KeyConditionExpression: options.afterSortKey ? 'pk = :pk AND sk > :after' : 'pk = :pk',
          ExpressionAttributeValues: {
            ':pk': aggregateKey(aggregateType, aggregateId),
            ...(options.afterSortKey ? { ':after': options.afterSortKey } : {}),
          },
          ConsistentRead: options.consistentRead ?? true,
          Limit: options.pageSize ?? 500,
          ExclusiveStartKey: startKey,
        }),
      );
      yield (page.Items ?? []).map(fromEventItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private assertSize(event: EventEnvelope): void {
    const bytes = jsonBytes(event);
    if (bytes > this.maxEventBytes) throw new EventTooLargeError(event.eventId, bytes, this.maxEventBytes);
  }

  private async putOne(event: EventEnvelope, tier: Tier, signal?: AbortSignal): Promise<AppendResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table(),
          Item: toEventItem(tier, event),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        signal ? { abortSignal: signal } : {},
      );
      return { appended: 1, duplicates: 0 };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = error.Item ? fromRawEventItem(error.Item).eventId : undefined;
      if (existing === event.eventId) return { appended: 0, duplicates: 1 };
      throw new ConcurrencyError(event.aggregateId, eventSortKey(tier, event), existing, { cause: error });
    }
  }

  private async putMany(
    events: readonly EventEnvelope[],
    batch: { tier: Tier; guards: readonly AppendGuard[]; signal?: AbortSignal | undefined },
  ): Promise<AppendResult> {
    const { tier, guards, signal } = batch;
    const eventItems = this.eventItems(events, tier);
    try {
      await this.client.send(
        new TransactWriteCommand({ TransactItems: [...eventItems, ...guards.map((g) => g.item)] }),
        signal ? { abortSignal: signal } : {},
      );
      return { appended: events.length, duplicates: 0 };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      return this.explainCancellation(error, { events, tier, guards, signal });
    }
  }

  /** Turns a cancelled transaction into a duplicate no-op, a guard error or a ConcurrencyError. */
  private async explainCancellation(
    error: TransactionCanceledException,
    batch: {
      events: readonly EventEnvelope[];
      tier: Tier;
      guards: readonly AppendGuard[];
      signal?: AbortSignal | undefined;
    },
  ): Promise<AppendResult> {
    const reasons = error.CancellationReasons ?? [];
    const guardFailure = batch.guards.findIndex(
      (_, i) => reasons[batch.events.length + i]?.Code === 'ConditionalCheckFailed',
    );
    if (guardFailure >= 0) {
      const seen = reasons[batch.events.length + guardFailure]?.Item;
      throw batch.guards[guardFailure]!.onFailure(
        seen ? unmarshall(seen as Record<string, AttributeValue>) : undefined,
      );
    }
    const fresh: EventEnvelope[] = [];
    let duplicates = 0;
    for (const [i, event] of batch.events.entries()) {
      const reason = reasons[i];
      if (reason?.Code !== 'ConditionalCheckFailed') {
        fresh.push(event);
        continue;
      }
      const existing = reason.Item
        ? fromRawEventItem(reason.Item as Record<string, AttributeValue>).eventId
        : undefined;
      if (existing !== event.eventId) {
        throw new ConcurrencyError(event.aggregateId, eventSortKey(batch.tier, event), existing, {
          cause: error,
        });
      }
      duplicates++;
    }
    // Cancelled for another reason (a transaction conflict, throttling): the caller's retry decides.
    if (duplicates === 0) throw error;
    // Part of the batch was already stored by an earlier attempt: store the rest.
    const rest = fresh.length > 0 ? await this.putMany(fresh, batch) : { appended: 0, duplicates: 0 };
    return { appended: rest.appended, duplicates: duplicates + rest.duplicates };
  }
}

/** The SDK's answer to an aborted request (its own AbortError, or the signal's TimeoutError). */
function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** One copy marker per aggregate, naming its newest event of the append. */
function receivedMarkerPuts(table: string, events: readonly EventEnvelope[]): TransactItem[] {
  const newest = new Map<string, EventEnvelope>();
  for (const event of events) {
    const key = aggregateKey(event.aggregateType, event.aggregateId);
    if ((newest.get(key)?.seq ?? -1) < event.seq) newest.set(key, event);
  }
  return [...newest.values()].map((event) => ({ Put: quorumMarkerPut(table, event) }));
}
