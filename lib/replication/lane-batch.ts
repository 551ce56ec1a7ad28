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
  result: { applied: readonly EventEnvelope[]; record: StateRecord },
): Array<{ id: string; outcome: ApplyOutcome }> {
  const fresh = new Set(result.applied.map((e) => e.eventId));
  return [...group.events.values()].flatMap(({ envelope, ids }) =>
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

/** The newest HLC per origin among events (what a watermark may claim once they are all stored). */
export function newestPerOrigin(events: readonly EventEnvelope[]): Map<string, string> {
  const newest = new Map<string, string>();
  for (const event of events)
    if ((newest.get(event.origin) ?? '') < event.hlc) newest.set(event.origin, event.hlc);
  return newest;
}
