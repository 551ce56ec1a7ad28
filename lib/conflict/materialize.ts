import { dominates, mergeVectors, type VersionVector } from '../clock/version-vector.ts';
import type { ConflictPolicy } from '../config/schema.ts';
import type { AnyAggregate, DomainEvent } from '../model/aggregate.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { upcastEvent } from '../model/registry.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';
import { commonAncestors, headsOf, sortByHlc, vectorOf } from './causality.ts';
import { ArchivedEventInFoldError } from './errors.ts';
import { conflictResolvedPayloadSchema, isConflictResolved } from './platform-events.ts';

export interface MaterializeInput {
  readonly aggregate: AnyAggregate;
  readonly aggregateId: string;
  readonly policy: ConflictPolicy;
  /** Every event of the aggregate, in any order; repeated eventIds count once. */
  readonly events: readonly EventEnvelope[];
  readonly now?: () => Date;
}

export interface Materialized {
  readonly record: StateRecord;
  /** Events of the set that no other event has seen. */
  readonly heads: EventEnvelope[];
  /** The set in fold order (HLC). */
  readonly sorted: EventEnvelope[];
}

/**
 * One fold step under a policy: a `ConflictResolved` replaces the state; under `rule` an event that has
 * not seen everything folded before it (it is concurrent with one of them) goes through the aggregate's
 * `merge`; otherwise `evolve`. `folded` is the vector of the events already folded.
 */
export function foldStep(
  aggregate: AnyAggregate,
  policy: ConflictPolicy,
  input: { state: unknown; folded: VersionVector; event: EventEnvelope },
): unknown {
  const { state, folded, event } = input;
  if (isConflictResolved(event)) return conflictResolvedPayloadSchema.parse(event.payload).state;
  // A stub's payload is `{}` (lib/store marshal): validating it would blame the event for a tier move.
  if (isArchivedStub(event))
    throw new ArchivedEventInFoldError(event.aggregateType, event.aggregateId, event.eventId, event.seq);
  const domainEvent: DomainEvent = upcastEvent(aggregate, event);
  const merge = aggregate.conflict?.merge;
  // Causality implies HLC order, so "not dominating the folded vector" means "concurrent with one of them".
  if (policy === 'rule' && merge && !dominates(event.vv, folded)) return merge(state, domainEvent);
  return aggregate.evolve(state, domainEvent);
}

/** Folds events already in HLC order from the initial state. */
export function foldInOrder(
  aggregate: AnyAggregate,
  policy: ConflictPolicy,
  events: readonly EventEnvelope[],
): unknown {
  let state = aggregate.initialState();
  let folded: VersionVector = {};
  for (const event of events) {
    state = foldStep(aggregate, policy, { state, folded, event });
    folded = mergeVectors(folded, event.vv);
  }
  return state;
}

/**
 * The projection row of an important or ordinary aggregate as a pure function of its SET of events, so
 * every region converges byte for byte whatever the arrival order: sort by HLC, then fold. Under
 * `manual`, more than one head freezes the state at the fold of the events every head has seen.
 * `version` is the number of events in the set (it only grows as events arrive).
 * @example materialize({ aggregate: profile, aggregateId: 'p1', policy: 'lww', events }).record.state
 */
export function materialize(input: MaterializeInput): Materialized {
  const { aggregate, aggregateId, policy } = input;
  const sorted = sortByHlc(input.events);
  const heads = policy === 'manual' ? headsOf(sorted) : [];
  const frozen = heads.length > 1;
  const folded = frozen ? commonAncestors(sorted, heads) : sorted;
  const last = sorted.at(-1);
  const record: StateRecord = {
    aggregateType: aggregate.name,
    aggregateId,
    state: canonicalJson(foldInOrder(aggregate, policy, folded)),
    version: sorted.length,
    seq: 0,
    head: last?.hlc ?? null,
    vv: vectorOf(sorted),
    lastSortKey: last ? eventSortKey(aggregate.tier, last) : null,
    frozen,
    updatedAt: (input.now?.() ?? new Date()).toISOString(),
  };
  return { record, heads: policy === 'manual' ? heads : headsOf(sorted), sorted };
}

/**
 * Whether an arriving event can be folded on top of the current row without re-reading the log: it is
 * newer than everything folded (HLC) and, unless the policy is plain `lww`, has seen all of it.
 */
export function canFoldOnTop(record: StateRecord, event: EventEnvelope, policy: ConflictPolicy): boolean {
  if (record.frozen || isConflictResolved(event)) return false;
  if (record.head !== null && event.hlc <= record.head) return false;
  return policy === 'lww' || dominates(event.vv, record.vv);
}

/** The row after folding one event on top (see `canFoldOnTop`). */
export function foldOnTop(
  aggregate: AnyAggregate,
  policy: ConflictPolicy,
  input: { record: StateRecord; event: EventEnvelope; now?: () => Date },
): StateRecord {
  const { record, event } = input;
  const state = foldStep(aggregate, policy, { state: JSON.parse(record.state), folded: record.vv, event });
  return {
    ...record,
    state: canonicalJson(state),
    version: record.version + 1,
    seq: 0,
    head: event.hlc,
    vv: mergeVectors(record.vv, event.vv),
    lastSortKey: eventSortKey(aggregate.tier, event),
    updatedAt: (input.now?.() ?? new Date()).toISOString(),
  };
}
