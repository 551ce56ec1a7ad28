import {
  CAUSAL_ORDER,
  compareVectors,
  dominates,
  mergeVectors,
  type VersionVector,
} from '../clock/version-vector.ts';
import type { EventEnvelope } from '../model/envelope.ts';

type Causal = Pick<EventEnvelope, 'eventId' | 'hlc' | 'vv'>;

/** True when neither event has seen the other: decided from the two vectors alone. */
export function areConcurrent(a: Pick<EventEnvelope, 'vv'>, b: Pick<EventEnvelope, 'vv'>): boolean {
  return compareVectors(a.vv, b.vv) === CAUSAL_ORDER.concurrent;
}

/** Orders events by encoded HLC (string order equals logical order) and drops repeated eventIds. */
export function sortByHlc<E extends Causal>(events: readonly E[]): E[] {
  const unique = new Map<string, E>();
  for (const event of events) if (!unique.has(event.eventId)) unique.set(event.eventId, event);
  return [...unique.values()].sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0));
}

/** Element-wise maximum of every event's vector (the vector of the whole set). */
export function vectorOf(events: readonly Pick<EventEnvelope, 'vv'>[]): VersionVector {
  return events.reduce<VersionVector>((vv, event) => mergeVectors(vv, event.vv), {});
}

/**
 * The heads of a set: events no other event of the set has seen. Walks newest HLC first: an event is
 * dominated only by events with a greater HLC (appliers receive every HLC before writing on top), and
 * domination is transitive, so comparing with the heads found so far is enough.
 */
export function headsOf<E extends Causal>(events: readonly E[]): E[] {
  const heads: E[] = [];
  for (const event of [...sortByHlc(events)].reverse()) {
    if (!heads.some((head) => dominates(head.vv, event.vv))) heads.push(event);
  }
  return heads.reverse();
}

/** Events that every head has seen (the last state all branches agree on). */
export function commonAncestors<E extends Causal>(events: readonly E[], heads: readonly E[]): E[] {
  return sortByHlc(events).filter((event) => heads.every((head) => dominates(head.vv, event.vv)));
}

/** Events of `others` concurrent with `event`. */
export function concurrentWith<E extends Causal>(event: Causal, others: readonly E[]): E[] {
  return others.filter((other) => other.eventId !== event.eventId && areConcurrent(event, other));
}
