import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { extendsHead } from '../commands/chain.ts';
import { catchUpCoreRow, emptyRecord, foldRecord } from '../commands/execute.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ConcurrencyError } from '../store/errors.ts';
import { guardedStatePut, rowSeen, type StateRecord } from '../store/state-store.ts';
import {
  appendAtSeq,
  type CoreDrainDeps,
  CutRefusedError,
  cutGuardsOf,
  fencingViolation,
  park,
  settle,
  storedAt,
} from './core-drain.ts';
import { InOrderAppendRefusedError, PoisonEventError } from './errors.ts';
import type { StateRecordCache } from './state-cache.ts';

export interface CoreApplyDeps extends CoreDrainDeps {
  /** Rows this applier last saw, to skip the GetItem of an in-order event (guarded, see StateRecordCache). */
  readonly cache?: StateRecordCache;
}

export interface CoreApplyResult {
  readonly status: 'applied' | 'duplicate' | 'parked';
  readonly record: StateRecord;
  /** Every event appended by this call (the incoming one, drained and fetched ones). */
  readonly appended: EventEnvelope[];
}

type Placement = 'appended' | 'duplicate' | 'parked' | 'stale';

/**
 * Places an event against a row. Without `final`, anything surprising (the row may lag the log) answers
 * `stale` so the caller catches up once and asks again; the common case costs no log read. Only an event
 * that extends the row (`extendsHead`) is appended ahead of it; one at the next seq whose `prev` is not the
 * row's head belongs to another branch and is parked, never folded (Repair or Failback moves this region
 * onto the home's branch, then it drains or is found passed).
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
    // The row is ahead of its log (a branch being retired under it): wait until the row is rebuilt.
    if (!final) return 'stale';
    await park(deps, event);
    return 'parked';
  }
  if (!extendsHead(record, event)) {
    if (!final) return 'stale';
    await park(deps, event);
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
 * The common case in one round trip: the event extends the row, so the event, the folded row (guarded on
 * the exact version and head it was folded from) and "the successor is not parked" go in
 * one transaction. Undefined when a guard refuses or the slot is taken: the general path then decides
 * (duplicate, fencing violation, drain), exactly as if this had not been tried.
 */
async function appendInOrder(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; event: EventEnvelope },
  onRowSeen?: (row: StateRecord) => void,
): Promise<CoreApplyResult | undefined> {
  const { aggregate, record, event } = input;
  const next = foldRecord(aggregate, record, [event]);
  try {
    const result = await deps.events.appendEvents([event], {
      tier: 'core',
      received: true,
      guards: [
        {
          item: guardedStatePut(deps.states.table(), next, record),
          onFailure: (stored) =>
            new InOrderAppendRefusedError(event.aggregateId, 'state-row', rowSeen(stored)),
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
        // A Failover cut the origin's history here past the event's epoch: the general path decides
        // (the very event logged already: duplicate; else quarantined SupersededByFailover).
        ...cutGuardsOf(deps, event),
      ],
    });
    return result.appended > 0 ? { status: 'applied', record: next, appended: [event] } : undefined;
  } catch (error) {
    if (error instanceof InOrderAppendRefusedError && error.current) onRowSeen?.(error.current);
    if (
      error instanceof InOrderAppendRefusedError ||
      error instanceof CutRefusedError ||
      error instanceof ConcurrencyError ||
      error instanceof TransactionCanceledException
    ) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Applies a core event in chain order: one that extends the row (next seq, `prev` = the row's head) is
 * appended and folded, then parked successors drain; one from further ahead is parked until the gap
 * closes, or, once the gap is older than `gapTimeoutMs`, the missing range is fetched from the origin
 * region (validated and chain-checked); one at the next seq on another branch is parked until Repair or
 * Failback settles the fork; an old one is a duplicate if it is the same event, else a fencing violation
 * (never overwritten).
 */
export async function applyCore(
  deps: CoreApplyDeps,
  input: { aggregate: AnyAggregate; event: EventEnvelope },
): Promise<CoreApplyResult> {
  const { aggregate, event } = input;
  const table = deps.states.table();
  const guess = deps.cache?.get(table, aggregate.name, event.aggregateId);
  // The row the guess's refused append found stored (another instance moved it): taken instead of a read.
  let seen: StateRecord | undefined;
  if (guess && extendsHead(guess, event)) {
    const fast = await appendInOrder(deps, { aggregate, record: guess, event }, (row) => {
      seen = row;
    });
    if (fast) return remember(deps, table, fast);
  }
  const record =
    seen ??
    (await deps.states.getState(aggregate.name, event.aggregateId)) ??
    emptyRecord(aggregate, event.aggregateId);
  if (extendsHead(record, event)) {
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
    aggregateId: event.aggregateId,
    record,
    parkedNow: placement === 'parked',
  });
  appended.push(...settled.appended);
  const mine = appended.some((e) => e.eventId === event.eventId);
  // Still waiting: behind a gap or another branch's head, or parked because the row was ahead of its log.
  const waiting = settled.record.seq < event.seq || (placement === 'parked' && event.seq <= record.seq);
  if (!mine && waiting) return { status: 'parked', record: settled.record, appended };
  return { status: mine ? 'applied' : 'duplicate', record: settled.record, appended };
}
