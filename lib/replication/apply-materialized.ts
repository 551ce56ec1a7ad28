import { dominates } from '../clock/version-vector.ts';
import { emptyRecord } from '../commands/execute.ts';
import type { ConflictPolicy } from '../config/schema.ts';
import { canFoldOnTop, foldOnTop, materialize } from '../conflict/materialize.ts';
import { type ConflictNotifier, reconcileConflicts, recordLwwLosers } from '../conflict/reconcile.ts';
import type { ConflictRecordPort } from '../conflict/record-store.ts';
import { bugEnabled } from '../faults/index.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { appendWithState } from '../store/append-with-state.ts';
import { ConcurrencyError, isTransactionConflict, StateVersionConflictError } from '../store/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateRecord, StateStore } from '../store/state-store.ts';
import { ApplyContentionError, POISON_REASONS, PoisonEventError } from './errors.ts';
import type { StateRecordCache } from './state-cache.ts';

export interface MaterializedApplyDeps {
  readonly events: EventStore;
  readonly states: StateStore;
  readonly conflicts: ConflictRecordPort;
  readonly notifier?: ConflictNotifier;
  readonly now: () => Date;
  readonly maxAttempts?: number;
  /** Rows this applier last saw, to skip the GetItem of an event that folds on top (guarded by version). */
  readonly cache?: StateRecordCache;
}

export interface MaterializedApplyResult {
  readonly status: 'applied' | 'duplicate';
  readonly record: StateRecord;
  /** Conflict records created open by this arrival (manual policy). */
  readonly conflictsDetected: number;
  /** Conflict records created resolved by this arrival (lww: the lower HLC lost, kept for audit). */
  readonly conflictsSettled?: number;
}

/** Important aggregates under `lww` record every concurrent pair as it arrives (the conflict feed). */
function auditsLww(aggregate: AnyAggregate, policy: ConflictPolicy): boolean {
  return aggregate.tier === 'important' && policy === 'lww';
}

/** Another writer of the same aggregate got there first: read again and redo. */
function lostRace(error: unknown): boolean {
  return error instanceof StateVersionConflictError || isTransactionConflict(error);
}

/**
 * Applies an important- or ordinary-tier event: appends it and writes the projection row in one
 * transaction (the row's version check serializes appliers and local commands in this region). The row is
 * folded on top when the event is newer than (and, for rule/manual, has seen) everything folded;
 * otherwise it is re-materialized from the aggregate's whole log plus this event. A lost race re-reads
 * and retries. Under `manual`, conflict records are reconciled after every arrival, duplicates included.
 */
export async function applyMaterialized(
  deps: MaterializedApplyDeps,
  input: { aggregate: AnyAggregate; policy: ConflictPolicy; event: EventEnvelope },
): Promise<MaterializedApplyResult> {
  const { aggregate, event } = input;
  const maxAttempts = deps.maxAttempts ?? 8;
  const table = deps.states.table();
  // A cached row is tried once, and only for folding on top: its transaction's version guard refuses it
  // if the row has moved since. Every other decision (duplicates, re-materialization) reads the row.
  let guess = deps.cache?.get(table, aggregate.name, event.aggregateId);
  // The row a refused write found stored (its cancellation reason): the next try starts from it unread.
  let seen: StateRecord | undefined;
  let lastError: unknown;
  let attempt = 0;
  while (guess !== undefined || attempt < maxAttempts) {
    const fromCache = guess !== undefined;
    const stored = guess ?? seen ?? (await deps.states.getState(aggregate.name, event.aggregateId));
    guess = undefined;
    seen = undefined;
    if (!fromCache) attempt++;
    try {
      const result = await attemptApply(deps, input, { stored, fromCache });
      if (result === undefined) continue;
      if (result.status === 'applied') deps.cache?.set(table, result.record);
      return result;
    } catch (error) {
      deps.cache?.delete(table, aggregate.name, event.aggregateId);
      if (!lostRace(error)) throw error;
      lastError = error;
      if (error instanceof StateVersionConflictError) seen = error.current;
      if (!fromCache) await new Promise((resolve) => setTimeout(resolve, Math.random() * 4 * attempt));
    }
  }
  throw new ApplyContentionError(event.aggregateId, maxAttempts, { cause: lastError });
}

/** One try against a row; undefined when the row was a cached guess that cannot decide this event. */
async function attemptApply(
  deps: MaterializedApplyDeps,
  input: { aggregate: AnyAggregate; policy: ConflictPolicy; event: EventEnvelope },
  row: { stored: StateRecord | undefined; fromCache: boolean },
): Promise<MaterializedApplyResult | undefined> {
  const { aggregate, policy, event } = input;
  const { stored, fromCache } = row;
  const current = stored ?? emptyRecord(aggregate, event.aggregateId);
  const expectedVersion = stored?.version ?? 0;
  // An lww event that has not seen everything folded is concurrent with some of it: the state could be
  // folded on top, but its conflict records need the log, so it takes the re-materialization path.
  const audited = auditsLww(aggregate, policy) && !dominates(event.vv, current.vv);
  const onTop = bugEnabled('fold-on-arrival')
    ? !current.frozen
    : !audited && canFoldOnTop(current, event, policy);
  if (onTop) {
    const record = foldOnTop(aggregate, policy, { record: current, event, now: deps.now });
    const outcome = await write(deps, { aggregate, event, record, expectedVersion });
    if (outcome.appended > 0) return { status: 'applied', record, conflictsDetected: 0 };
    // Already stored: nothing was written, so a guessed row was not checked; answer from the real one.
    return fromCache ? undefined : { status: 'duplicate', record: current, conflictsDetected: 0 };
  }
  if (fromCache) return undefined;
  return rematerialize(deps, { ...input, expectedVersion, current });
}

async function rematerialize(
  deps: MaterializedApplyDeps,
  input: {
    aggregate: AnyAggregate;
    policy: ConflictPolicy;
    event: EventEnvelope;
    expectedVersion: number;
    current: StateRecord;
  },
): Promise<MaterializedApplyResult> {
  const { aggregate, policy, event } = input;
  const log = await deps.events.loadStream(aggregate.name, event.aggregateId);
  const known = log.find((e) => e.eventId === event.eventId);
  const set = known ? log : [...log, event];
  const result = materialize({
    aggregate,
    aggregateId: event.aggregateId,
    policy,
    events: set,
    now: deps.now,
  });
  let status: MaterializedApplyResult['status'] = 'duplicate';
  if (!known) {
    const outcome = await write(deps, {
      aggregate,
      event,
      record: result.record,
      expectedVersion: input.expectedVersion,
    });
    status = outcome.appended > 0 ? 'applied' : 'duplicate';
  }
  const record = status === 'applied' ? result.record : input.current;
  if (auditsLww(aggregate, policy)) {
    // After every arrival, duplicates included: a crash between the write and the records heals here.
    const pair = { aggregateType: aggregate.name, aggregateId: event.aggregateId, event, set: result.sorted };
    const settled = await recordLwwLosers({ records: deps.conflicts }, pair);
    return { status, record, conflictsDetected: 0, conflictsSettled: settled };
  }
  if (policy !== 'manual') return { status, record, conflictsDetected: 0 };
  const created = await reconcileConflicts(
    { records: deps.conflicts, ...(deps.notifier ? { notifier: deps.notifier } : {}) },
    {
      aggregateType: aggregate.name,
      aggregateId: event.aggregateId,
      event,
      set: result.sorted,
      now: deps.now(),
    },
  );
  return { status, record, conflictsDetected: created.length };
}

async function write(
  deps: MaterializedApplyDeps,
  input: { aggregate: AnyAggregate; event: EventEnvelope; record: StateRecord; expectedVersion: number },
) {
  try {
    return await appendWithState(deps, {
      tier: input.aggregate.tier,
      events: [input.event],
      record: input.record,
      expectedVersion: input.expectedVersion,
    });
  } catch (error) {
    // Same HLC key, different eventId: two events claim one timestamp of one origin.
    if (error instanceof ConcurrencyError) {
      throw new PoisonEventError(
        POISON_REASONS.keyCollision,
        `another event is stored at ${input.event.hlc}`,
        { existing: error.actual },
        { cause: error },
      );
    }
    throw error;
  }
}
