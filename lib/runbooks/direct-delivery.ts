import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { HybridLogicalClock } from '../clock/clock.ts';
import { extendsHead } from '../commands/chain.ts';
import { catchUpCoreRow, emptyRecord, foldRecord } from '../commands/execute.ts';
import { sealCheck } from '../commands/quorum-peer-dynamodb.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { storedAt } from '../replication/core-drain.ts';
import { InOrderAppendRefusedError, PoisonEventError } from '../replication/errors.ts';
import { validateIncoming } from '../replication/validate.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { AppendGuard } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { guardedStatePut, type StateRecord } from '../store/state-store.ts';
import type { RegionCell } from './ports.ts';

/** An event Repair did not put into a region's log, and why (reported, never thrown). */
export interface RefusedEvent {
  readonly region: string;
  readonly eventId: string;
  /** `type#id`. */
  readonly aggregate: string;
  readonly seq: number;
  /**
   * `slot-taken` (the log holds another event at its seq), `not-chained` (its predecessor in the log is
   * missing or another event), `row-ahead` (the row is at or past its seq while its slot is empty: a
   * branch being retired under it, as the applier parks it), `row-moved` (the row kept moving under the
   * append), `follows-refused` (an earlier event of its run was refused), `row-unfoldable` (not an event:
   * the aggregate's row could not be rebuilt, its log holds stubs no usable snapshot or archive covers;
   * `eventId` is empty, `seq` the stub's), `archived-everywhere` (every holder has only its stub), `sealed`
   * (a delivery with a DeliverySeal: the region's copy of the partition's entry is past its epoch), or the
   * applier's poison reason (`InvalidPayload`, `ForgedOrigin`, ...).
   */
  readonly reason: string;
  readonly message: string;
}

/** What a direct delivery did. */
export interface DirectDelivery {
  readonly delivered: number;
  readonly refused: RefusedEvent[];
}

const keyOf = (e: EventEnvelope) => `${e.aggregateType}#${e.aggregateId}`;

/**
 * A delivery that copies a home's events of `epoch` (a Switchover's CheckWatermark: the old home's head,
 * fenced at `epoch`): each core append also checks, in its transaction, that the region's own copy of
 * `partition`'s entry is not past `epoch` (the quorum copy's seal check). A Failover seals the survivors it
 * collects from by writing its newer entry there, so an invocation that outlives its task (Step Functions
 * moved on; the Lambda did not stop) puts nothing into a region whose log the Failover already collected.
 */
export interface DeliverySeal {
  readonly partition: number;
  readonly epoch: number;
}

/** The region's copy of the partition's entry is past the delivery's epoch (see DeliverySeal). */
class DeliverySealedError extends Error {
  constructor(seal: DeliverySeal) {
    super(`the region's copy of partition ${seal.partition} is past epoch ${seal.epoch} (sealed)`);
    this.name = 'DeliverySealedError';
  }
}

/** A core event's predecessor as the chain sees it (seq 0: none). */
export interface Predecessor {
  readonly seq: number;
  readonly head: string | null;
  readonly eventId: string | null;
}

const predecessorOf = (event: EventEnvelope): Predecessor => ({
  seq: event.seq,
  head: event.hlc,
  eventId: event.eventId,
});

/** The event of `cell`'s core log just before `event`'s seq (seq - 1); undefined when absent. */
export async function predecessorInLog(
  cell: RegionCell,
  event: EventEnvelope,
): Promise<Predecessor | undefined> {
  if (event.seq === 1) return { seq: 0, head: null, eventId: null };
  const afterSortKey = eventSortKey('core', { seq: event.seq - 2, hlc: '' });
  const pages = cell.events.pages(event.aggregateType, event.aggregateId, { afterSortKey, pageSize: 1 });
  for await (const page of pages) {
    const previous = page[0];
    return previous?.seq === event.seq - 1 ? predecessorOf(previous) : undefined;
  }
  return undefined;
}

/**
 * The applier's checks on one event (envelope, the HLC issued by the origin, registered type, upcast
 * payload, size, clock drift), except one: the refusal of an event claiming this region as origin. On the
 * replication path such an event is forged (a region never receives its own events); here Repair read it
 * from a peer's log because this region's copy was lost to a point-in-time restore, and it is written only
 * by this runbook, never taken from the bus. The bug switch brings back appending own events unchecked.
 */
function refusalOf(
  cell: RegionCell,
  event: EventEnvelope,
  checks: { registry: AggregateRegistry; clock: HybridLogicalClock },
): Omit<RefusedEvent, 'region' | 'eventId' | 'aggregate' | 'seq'> | undefined {
  if (bugEnabled('repair-unchecked-own-events') && event.origin === cell.region) return undefined;
  try {
    validateIncoming(structuredClone(event), {
      region: cell.region,
      registry: checks.registry,
      clock: checks.clock,
      maxEventBytes: cell.events.maxEventBytes,
      ownOrigin: 'accept',
    });
    return undefined;
  } catch (error) {
    if (error instanceof PoisonEventError) return { reason: error.reason, message: error.message };
    throw error;
  }
}

/**
 * Puts events a region lacks straight into its log, synchronously, with the applier's checks: a core
 * aggregate's events in seq order, each only on top of its predecessor (`extendsHead`: same chain rule as
 * the applier), each conditionally on its slot being free (the fencing: a taken slot is never
 * overwritten), then the row caught up from the log. A refused event (a taken slot included) is reported
 * and stops its aggregate's run (what follows chains on it); the other aggregates go on. Other tiers:
 * checked and appended (their rows are rebuilt by the caller).
 */
export async function deliverDirectly(
  cell: RegionCell,
  events: readonly EventEnvelope[],
  registry: AggregateRegistry,
  options: { readonly seal?: DeliverySeal } = {},
): Promise<DirectDelivery> {
  const checks = {
    registry,
    clock: new HybridLogicalClock({ region: cell.region }),
    ...(options.seal ? { seal: options.seal } : {}),
  };
  const runs = groupBy(events, keyOf);
  const refused: RefusedEvent[] = [];
  let delivered = 0;
  for (const run of runs.values()) {
    const result = await deliverRun(cell, run, checks);
    delivered += result.delivered;
    refused.push(...result.refused);
  }
  return { delivered, refused };
}

/** One aggregate's events (see deliverDirectly). */
async function deliverRun(
  cell: RegionCell,
  run: EventEnvelope[],
  checks: { registry: AggregateRegistry; clock: HybridLogicalClock; seal?: DeliverySeal },
): Promise<DirectDelivery> {
  const first = run[0]!;
  const aggregate = registryTier(checks.registry, first.aggregateType);
  const core = aggregate?.tier === 'core';
  const ordered = [...run].sort((a, b) => a.seq - b.seq || (a.hlc < b.hlc ? -1 : 1));
  const refused: RefusedEvent[] = [];
  const refuse = (event: EventEnvelope, why: { reason: string; message: string }) =>
    refused.push({
      region: cell.region,
      eventId: event.eventId,
      aggregate: keyOf(event),
      seq: event.seq,
      ...why,
    });
  let head: Predecessor | undefined;
  let delivered = 0;
  for (const [at, event] of ordered.entries()) {
    const why = await checkOne(cell, event, { ...checks, aggregate: core ? aggregate : undefined, head });
    if (why) {
      refuse(event, why);
      if (core) {
        for (const rest of ordered.slice(at + 1))
          refuse(rest, { reason: 'follows-refused', message: `follows refused event ${event.eventId}` });
        break;
      }
      continue;
    }
    delivered++;
    if (core) head = predecessorOf(event);
  }
  if (core && delivered > 0 && aggregate) await catchUpRow(cell, aggregate, first.aggregateId);
  return { delivered, refused };
}

/** Checks and appends one event; the reason it was refused, or undefined once it is in the log. */
async function checkOne(
  cell: RegionCell,
  event: EventEnvelope,
  context: {
    registry: AggregateRegistry;
    clock: HybridLogicalClock;
    seal?: DeliverySeal;
    /** The core aggregate of the event; undefined for another tier. */
    aggregate: AnyAggregate | undefined;
    head: Predecessor | undefined;
  },
): Promise<{ reason: string; message: string } | undefined> {
  const invalid = refusalOf(cell, event, context);
  if (invalid) return invalid;
  const unchecked = bugEnabled('repair-unchecked-own-events') && event.origin === cell.region;
  const tier = context.registry.get(event.aggregateType).tier;
  // A peer's core event carries the copy marker a failover's collection reads, as the applier's do.
  const options = { tier, received: tier === 'core' && event.origin !== cell.region };
  try {
    if (context.aggregate && !unchecked)
      return await appendCore(cell, event, context.aggregate, {
        runHead: context.head,
        ...(context.seal ? { seal: context.seal } : {}),
      });
    await cell.events.appendEvents([event], options);
    return undefined;
  } catch (error) {
    if (!(error instanceof ConcurrencyError) || bugEnabled('repair-aborts-on-taken-slot')) throw error;
    return { reason: 'slot-taken', message: `the log holds event ${error.actual ?? 'unknown'} there` };
  }
}

/** Attempts at one core event whose row moves under it (another writer, the applier) before refusing it. */
const ROW_ATTEMPTS = 3;

/**
 * Appends one core event with the applier's guards (see applyCore): only on top of its predecessor in the
 * log (`extendsHead`), never while the row is at or past its seq with its slot empty (the row ahead of its
 * log: a branch being retired under it, newest event first; the applier parks such an event, Repair
 * refuses it: `row-ahead`), and in one transaction with the row as it was read (folded when the event
 * extends it, as appendInOrder does; else unchanged) and the predecessor still in its slot. A retire that
 * deletes the predecessor or moves the row meanwhile cancels the append; it is decided again on what the
 * tables then hold. The bug switch appends on the log's check alone.
 */
async function appendCore(
  cell: RegionCell,
  event: EventEnvelope,
  aggregate: AnyAggregate,
  chain: { readonly runHead: Predecessor | undefined; readonly seal?: DeliverySeal },
): Promise<Refusal | undefined> {
  const { runHead, seal } = chain;
  for (let attempt = 1; attempt <= ROW_ATTEMPTS; attempt++) {
    // The run's previous event, or the log itself where the region holds the events in between.
    const head =
      attempt === 1 && runHead?.seq === event.seq - 1 ? runHead : await predecessorInLog(cell, event);
    if (!head || !extendsHead(head, event))
      return {
        reason: 'not-chained',
        message: `seq ${event.seq} does not extend the log's seq ${event.seq - 1}`,
      };
    const outcome = await appendOnce(cell, event, aggregate, { head, ...(seal ? { seal } : {}) });
    if (outcome !== 'moved') return outcome;
  }
  return {
    reason: 'row-moved',
    message: `the row or the log's seq ${event.seq - 1} changed under ${ROW_ATTEMPTS} attempts`,
  };
}

type Refusal = { reason: string; message: string };

/** One attempt of appendCore on top of `head`: undefined once in the log, a refusal, or `moved` (try again). */
async function appendOnce(
  cell: RegionCell,
  event: EventEnvelope,
  aggregate: AnyAggregate,
  on: { readonly head: Predecessor; readonly seal?: DeliverySeal },
): Promise<Refusal | undefined | 'moved'> {
  const { head, seal } = on;
  const received = event.origin !== cell.region;
  if (bugEnabled('repair-direct-ignores-row')) {
    await cell.events.appendEvents([event], { tier: 'core', received });
    return undefined;
  }
  const row =
    (await cell.states.getState(aggregate.name, event.aggregateId)) ??
    emptyRecord(aggregate, event.aggregateId);
  if (row.seq >= event.seq) return rowAhead(cell, event, row);
  const guards: AppendGuard[] = [rowGuard(cell, aggregate, row, event)];
  if (head.eventId !== null)
    guards.push({
      item: cell.events.slotHolds({ ...event, seq: head.seq, eventId: head.eventId }),
      onFailure: () => new InOrderAppendRefusedError(event.aggregateId, 'state-row'),
    });
  if (seal)
    guards.push({
      item: sealCheck(cell.tables, seal.partition, seal.epoch),
      onFailure: () => new DeliverySealedError(seal),
    });
  try {
    await cell.events.appendEvents([event], { tier: 'core', received, guards });
    return undefined;
  } catch (error) {
    if (error instanceof DeliverySealedError) return { reason: 'sealed', message: error.message };
    if (error instanceof InOrderAppendRefusedError || error instanceof TransactionCanceledException)
      return 'moved';
    throw error;
  }
}

/**
 * The row is at or past the event's seq: the event is already there (a duplicate: done), another event
 * holds its slot (ConcurrencyError: `slot-taken`), or the slot is empty under a row ahead of its log
 * (`row-ahead`: a branch being retired; the applier parks such an event).
 */
async function rowAhead(
  cell: RegionCell,
  event: EventEnvelope,
  row: StateRecord,
): Promise<Refusal | undefined> {
  const existing = await storedAt(cell, event);
  if (existing?.eventId === event.eventId) return undefined;
  if (existing) throw new ConcurrencyError(event.aggregateId, eventSortKey('core', event), existing.eventId);
  return {
    reason: 'row-ahead',
    message: `the row is at seq ${row.seq} while the log's seq ${event.seq} is empty (a branch being retired)`,
  };
}

/** The row as read, in the append's transaction: folded with the event when it extends the row, else unchanged. */
function rowGuard(
  cell: RegionCell,
  aggregate: AnyAggregate,
  row: StateRecord,
  event: EventEnvelope,
): AppendGuard {
  const onFailure = () => new InOrderAppendRefusedError(event.aggregateId, 'state-row');
  const table = cell.states.table();
  if (extendsHead(row, event))
    return { item: guardedStatePut(table, foldRecord(aggregate, row, [event]), row), onFailure };
  const { Put } = guardedStatePut(table, row, row);
  const { Item, ...condition } = Put;
  return { item: { ConditionCheck: { ...condition, Key: { pk: Item.pk } } }, onFailure };
}

function registryTier(registry: AggregateRegistry, type: string) {
  return registry.has(type) ? registry.get(type) : undefined;
}

/**
 * Folds what was appended into the row. A row another writer keeps moving is left as it is: the caller
 * rebuilds the rows that still differ from their log (rebuildDivergedRows) after the replay.
 */
async function catchUpRow(
  cell: RegionCell,
  aggregate: NonNullable<ReturnType<typeof registryTier>>,
  aggregateId: string,
): Promise<void> {
  try {
    await catchUpCoreRow(cell, aggregate, aggregateId);
  } catch (error) {
    if (!(error instanceof ConcurrencyError)) throw error;
  }
}
