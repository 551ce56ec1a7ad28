import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { StateRecord } from '../store/state-store.ts';
import type { ApplyOutcome } from './applier.ts';

/** One distinct event of a batch (by eventId), with every record that carried it. */
export interface GroupedEvent {
  readonly envelope: EventEnvelope;
  readonly ids: string[];
  /** The EventBridge detail and the whole message (what the per-event path and quarantine take). */
  readonly detail: unknown;
  readonly raw: unknown;
}

/** The events of one aggregate in a batch, in arrival order. */
export interface Group {
  readonly aggregate: AnyAggregate;
  readonly aggregateId: string;
  readonly events: Map<string, GroupedEvent>;
}

/** Adds an event to its aggregate's group (a repeated eventId only adds its record id). */
export function addToGroup(
  groups: Map<string, Group>,
  aggregate: AnyAggregate,
  event: { envelope: EventEnvelope; id: string; detail: unknown; raw: unknown },
): void {
  const { envelope } = event;
  const key = `${aggregate.name}|${envelope.aggregateId}`;
  let group = groups.get(key);
  if (!group) {
    group = { aggregate, aggregateId: envelope.aggregateId, events: new Map() };
    groups.set(key, group);
  }
  const seen = group.events.get(envelope.eventId);
  if (seen) seen.ids.push(event.id);
  else
    group.events.set(envelope.eventId, { envelope, ids: [event.id], detail: event.detail, raw: event.raw });
}

/** Every record id of a group (optionally only those of events from `origin`). */
export function recordIdsOf(group: Group, origin?: string): string[] {
  return [...group.events.values()]
    .filter((e) => origin === undefined || e.envelope.origin === origin)
    .flatMap((e) => e.ids);
}

/** Each record's outcome once its group is written: the first record of a new event applied it. */
export function groupOutcomes(
  group: Group,
  result: { applied: readonly EventEnvelope[]; record: StateRecord; collided: ReadonlySet<string> },
): Array<{ id: string; outcome: ApplyOutcome }> {
  const fresh = new Set(result.applied.map((e) => e.eventId));
  const written = [...group.events.values()].filter((e) => !result.collided.has(e.envelope.eventId));
  return written.flatMap(({ envelope, ids }) =>
    ids.map((id, i) => ({
      id,
      outcome: {
        status: i === 0 && fresh.has(envelope.eventId) ? ('applied' as const) : ('duplicate' as const),
        record: result.record,
        conflictsDetected: 0,
      },
    })),
  );
}

/** An event a batch's transaction settled (applied, or found stored), with the records that carried it. */
export interface Settled {
  readonly envelope: EventEnvelope;
  readonly ids: readonly string[];
}

/**
 * Per origin, the newest HLC among `settled` below the oldest HLC of that origin among `failed`: what a
 * watermark may claim (every event of the origin up to it that the batch held is stored, and none the batch
 * failed is at or under it).
 */
export function cappedAdvances(
  settled: ReadonlyArray<{ origin: string; hlc: string }>,
  failed: ReadonlyArray<{ origin: string; hlc: string }>,
): Map<string, string> {
  const oldestFailed = new Map<string, string>();
  for (const { origin, hlc } of failed) {
    const seen = oldestFailed.get(origin);
    if (seen === undefined || hlc < seen) oldestFailed.set(origin, hlc);
  }
  const newest = new Map<string, string>();
  for (const { origin, hlc } of settled) {
    const cap = oldestFailed.get(origin);
    if (cap !== undefined && hlc >= cap) continue;
    if ((newest.get(origin) ?? '') < hlc) newest.set(origin, hlc);
  }
  return newest;
}
