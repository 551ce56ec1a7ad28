import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { catchUpCoreRow, emptyRecord, foldRecord } from '../commands/execute.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { guardedStatePut, type StateRecord, type StateStore } from '../store/state-store.ts';
import { GapFetchError, InOrderAppendRefusedError, POISON_REASONS, PoisonEventError } from './errors.ts';
import type { ParkingStore } from './parking.ts';
import type { OriginReader } from './ports.ts';
import type { StateRecordCache } from './state-cache.ts';

export interface CoreApplyDeps {
  readonly events: EventStore;
  readonly states: StateStore;
  readonly parking: ParkingStore;
  /** Fetches a gap from the origin's store once it is older than `gapTimeoutMs`; without it, gaps wait. */
  readonly originReader?: OriginReader;
  readonly gapTimeoutMs: number;
  readonly now: () => Date;
  /** A parked event that turned out to conflict with the log (fencing violation) goes here. */
  readonly quarantineParked: (event: EventEnvelope, error: PoisonEventError) => Promise<void>;
  /** Rows this applier last saw, to skip the GetItem of an in-order event (guarded, see StateRecordCache). */
  readonly cache?: StateRecordCache;
}

export interface CoreApplyResult {
  readonly status: 'applied' | 'duplicate' | 'parked';
  readonly record: StateRecord;
  /** Every event appended by this call (the incoming one, drained and fetched ones). */
  readonly appended: EventEnvelope[];
}

function fencingViolation(event: EventEnvelope, existing: string | undefined, cause?: unknown) {
  return new PoisonEventError(
    POISON_REASONS.fencingViolation,
    `${event.aggregateType} ${event.aggregateId} seq ${event.seq} is already event ${existing ?? 'unknown'}`,
    { seq: event.seq, existing, epoch: event.epoch },
    cause ? { cause } : undefined,
  );
}

/** Appends one core event at its sequence; a different event already there is a fencing violation. */
async function appendAtSeq(deps: CoreApplyDeps, event: EventEnvelope): Promise<boolean> {
  try {
    return (await deps.events.appendEvents([event], { tier: 'core' })).appended > 0;
  } catch (error) {
    if (error instanceof ConcurrencyError) throw fencingViolation(event, error.actual, error);
    throw error;
  }
}

async function storedAt(deps: CoreApplyDeps, event: EventEnvelope): Promise<EventEnvelope | undefined> {
  const afterSortKey = eventSortKey('core', { seq: event.seq - 1, hlc: '' });
  const pages = deps.events.pages(event.aggregateType, event.aggregateId, { afterSortKey, pageSize: 1 });
  for await (const page of pages) return page[0]?.seq === event.seq ? page[0] : undefined;
  return undefined;
}

type Placement = 'appended' | 'duplicate' | 'parked' | 'stale';

/**
 * Places an event against a row. Without `final`, anything surprising (the row may lag the log) answers
 * `stale` so the caller catches up once and asks again; the common case costs no log read.
 */
async function place(
  deps: CoreApplyDeps,
  input: { record: StateRecord; event: EventEnvelope; final: boolean },
): Promise<Placement> {
  const { record, event, final } = input;
  if (event.seq <= record.seq) {
    const existing = await storedAt(deps, event);
    if (existing && existing.eventId !== event.eventId) throw fencingViolation(event, existing.eventId);
    if (existing) return 'duplicate';
    return (await appendAtSeq(deps, event)) ? 'appended' : 'duplicate';
  }
  if (event.seq > record.seq + 1) {
    if (!final) return 'stale';
    await deps.parking.park(event, deps.now());
    return 'parked';
  }
  try {
    if (await appendAtSeq(deps, event)) return 'appended';
    return final ? 'duplicate' : 'stale';
  } catch (error) {
    if (error instanceof PoisonEventError && !final) return 'stale';
    throw error;
  }
}

/**
 * The common case in one round trip: the event is the row's next sequence number, so the event, the
 * folded row (guarded on the exact version it was folded from) and "the successor is not parked" go in
 * one transaction. Undefined when a guard refuses or the slot is taken: the general path then decides
 * (duplicate, fencing violation, drain), exactly as if this had not been tried.
 */
async function appendInOrder(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; event: EventEnvelope },
): Promise<CoreApplyResult | undefined> {
  const { aggregate, record, event } = input;
  const next = foldRecord(aggregate, record, [event]);
  try {
    const result = await deps.events.appendEvents([event], {
      tier: 'core',
      guards: [
        {
          item: guardedStatePut(deps.states.table(), next, record.version),
          onFailure: () => new InOrderAppendRefusedError(event.aggregateId, 'state-row'),
        },
        {
          item: deps.parking.successorNotParked(event),
          onFailure: () => new InOrderAppendRefusedError(event.aggregateId, 'successor-parked'),
        },
        {
          // A successor already in the log (a quorum-ack copy) must be folded too: the general path does.
          item: deps.events.slotFree(event.aggregateType, event.aggregateId, event.seq + 1),
          onFailure: () => new InOrderAppendRefusedError(event.aggregateId, 'successor-logged'),
        },
      ],
    });
    return result.appended > 0 ? { status: 'applied', record: next, appended: [event] } : undefined;
  } catch (error) {
    if (
      error instanceof InOrderAppendRefusedError ||
      error instanceof ConcurrencyError ||
      error instanceof TransactionCanceledException
    ) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Applies a core event in sequence order: the next one is appended and folded, then parked successors
 * drain; one from further ahead is parked until the gap closes, or, once the gap is older than
 * `gapTimeoutMs`, the missing range is fetched from the origin region; an old one is a duplicate if it
 * is the same event, else a fencing violation (never overwritten).
 */
export async function applyCore(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; event: EventEnvelope },
): Promise<CoreApplyResult> {
  const { aggregate, event } = input;
  const table = deps.states.table();
  const guess = deps.cache?.get(table, aggregate.name, event.aggregateId);
  if (guess && event.seq === guess.seq + 1) {
    const fast = await appendInOrder(deps, { aggregate, record: guess, event });
    if (fast) return remember(deps, table, fast);
  }
  const record =
    (await deps.states.getState(aggregate.name, event.aggregateId)) ??
    emptyRecord(aggregate, event.aggregateId);
  if (event.seq === record.seq + 1) {
    const fast = await appendInOrder(deps, { aggregate, record, event });
    if (fast) return remember(deps, table, fast);
  }
  deps.cache?.delete(table, aggregate.name, event.aggregateId);
  return remember(deps, table, await applyInAnyOrder(deps, { aggregate, event, record }));
}

function remember(deps: CoreApplyDeps, table: string, result: CoreApplyResult): CoreApplyResult {
  deps.cache?.set(table, result.record);
  return result;
}

/** The general path: places the event against the row, then drains or parks (see applyCore). */
async function applyInAnyOrder(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; event: EventEnvelope; record: StateRecord },
): Promise<CoreApplyResult> {
  const { aggregate, event } = input;
  let record = input.record;
  let placement = await place(deps, { record, event, final: false });
  if (placement === 'stale') {
    record = await catchUpCoreRow(deps, aggregate, event.aggregateId);
    placement = await place(deps, { record, event, final: true });
  }
  const appended: EventEnvelope[] = [];
  if (placement === 'appended') {
    appended.push(event);
    // Folds the event and whatever the log already holds right after it (quorum-ack copies).
    record = await catchUpCoreRow(deps, aggregate, event.aggregateId);
  }
  if (placement === 'duplicate') return { status: 'duplicate', record, appended };
  const settled = await settle(deps, {
    aggregate,
    record,
    trigger: event,
    parkedNow: placement === 'parked',
  });
  appended.push(...settled.appended);
  if (settled.record.seq < event.seq) return { status: 'parked', record: settled.record, appended };
  const mine = appended.some((e) => e.eventId === event.eventId);
  return { status: mine ? 'applied' : 'duplicate', record: settled.record, appended };
}

/** Drains parked successors and closes timed-out gaps from the origin; returns the caught-up row. */
async function settle(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; trigger: EventEnvelope; parkedNow: boolean },
): Promise<{ record: StateRecord; appended: EventEnvelope[] }> {
  const { aggregate, trigger } = input;
  const appended: EventEnvelope[] = [];
  let record = input.record;
  // A park by a concurrent applier is seen either by this query or by its own re-check after parking.
  if (input.parkedNow) record = await catchUpCoreRow(deps, aggregate, trigger.aggregateId);
  for (;;) {
    const all = await deps.parking.parked(aggregate.name, trigger.aggregateId, 0);
    // A parked event the row has already passed reached the log another way (a concurrent applier, a
    // gap fetch, a repair replay): drop the entry, or quarantine it if the log holds another event there.
    const passed = all.filter((e) => e.seq <= record.seq);
    for (const event of passed) await dropPassed(deps, event);
    const parked = all.filter((e) => e.seq > record.seq);
    if (parked.length === 0) return { record, appended };
    const next = parked[0]!;
    if (next.seq === record.seq + 1) {
      appended.push(...(await drainRun(deps, record.seq, parked)));
    } else {
      const fetched = await fetchIfTimedOut(deps, { aggregate, record, firstParked: next });
      if (fetched.length === 0) return { record, appended };
      appended.push(...fetched);
    }
    record = await catchUpCoreRow(deps, aggregate, trigger.aggregateId);
  }
}

/** Appends the contiguous run of parked events after `seq` and unparks them. */
/**
 * Removes a parked event whose slot the log already fills: an applier parked it while a concurrent one (a
 * duplicate delivery) appended it. Quarantined when the log holds another event there; kept when the slot
 * is empty (never dropped unseen: the stranded check reports it).
 */
async function dropPassed(deps: CoreApplyDeps, event: EventEnvelope): Promise<void> {
  const existing = await storedAt(deps, event);
  if (!existing) return;
  if (existing.eventId !== event.eventId)
    await deps.quarantineParked(event, fencingViolation(event, existing.eventId));
  await deps.parking.unpark(event);
}

async function drainRun(deps: CoreApplyDeps, seq: number, parked: EventEnvelope[]): Promise<EventEnvelope[]> {
  const appended: EventEnvelope[] = [];
  let expected = seq + 1;
  for (const event of parked) {
    if (event.seq !== expected) break;
    try {
      if (await appendAtSeq(deps, event)) appended.push(event);
    } catch (error) {
      if (!(error instanceof PoisonEventError)) throw error;
      await deps.quarantineParked(event, error);
    }
    await deps.parking.unpark(event);
    expected++;
  }
  await deps.parking.clearGap(parked[0]!.aggregateType, parked[0]!.aggregateId);
  return appended;
}

async function fetchIfTimedOut(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; firstParked: EventEnvelope },
): Promise<EventEnvelope[]> {
  const { aggregate, record, firstParked } = input;
  const now = deps.now();
  const since = await deps.parking.gapSince(aggregate.name, firstParked.aggregateId);
  if (since === undefined) await deps.parking.markGap(aggregate.name, firstParked.aggregateId, now);
  if (!deps.originReader || since === undefined || now.getTime() - since < deps.gapTimeoutMs) return [];
  const range = { fromSeq: record.seq + 1, toSeq: firstParked.seq - 1 };
  let fetched: EventEnvelope[];
  try {
    fetched = await deps.originReader.loadRange(firstParked.origin, {
      aggregateType: aggregate.name,
      aggregateId: firstParked.aggregateId,
      ...range,
    });
  } catch (error) {
    throw new GapFetchError(firstParked.origin, firstParked.aggregateId, [range.fromSeq, range.toSeq], {
      cause: error,
    });
  }
  const appended: EventEnvelope[] = [];
  let expected = range.fromSeq;
  for (const event of [...fetched].sort((a, b) => a.seq - b.seq)) {
    if (event.seq !== expected) break;
    if (await appendAtSeq(deps, event)) appended.push(event);
    expected++;
  }
  // The next gap (if any remains) starts its own clock.
  if (appended.length > 0) await deps.parking.clearGap(aggregate.name, firstParked.aggregateId);
  return appended;
}
