import { decodeHlc } from '../clock/hlc.ts';
import { dominates } from '../clock/version-vector.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { areConcurrent, concurrentWith, sortByHlc } from './causality.ts';
import { isConflictResolved } from './platform-events.ts';

type Causal = Pick<EventEnvelope, 'eventId' | 'hlc' | 'vv' | 'type' | 'origin'>;

/** Status of a conflict record. */
export const CONFLICT_STATUS = { open: 'open', resolved: 'resolved' } as const;
export type ConflictStatus = (typeof CONFLICT_STATUS)[keyof typeof CONFLICT_STATUS];

/** One pair of concurrent events of a manual-policy aggregate. */
export interface ConflictPair {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The two eventIds, sorted: the pair's identity is the same in every region. */
  readonly eventIds: readonly [string, string];
  readonly hlcs: readonly [string, string];
  readonly origins: readonly [string, string];
  /** The smallest eventId of a `ConflictResolved` in the set that has seen both, or null while open. */
  readonly resolvedBy: string | null;
}

/** Deterministic identity of a pair: the two eventIds, sorted, joined by `#`. */
export function conflictPairId(a: string, b: string): string {
  return a < b ? `${a}#${b}` : `${b}#${a}`;
}

function pairOf(aggregate: { type: string; id: string }, x: Causal, y: Causal, set: readonly Causal[]) {
  const [a, b] = x.eventId < y.eventId ? [x, y] : [y, x];
  const resolutions = set
    .filter((e) => isConflictResolved(e) && e.eventId !== a.eventId && e.eventId !== b.eventId)
    .filter((r) => dominates(r.vv, a.vv) && dominates(r.vv, b.vv))
    .map((r) => r.eventId)
    .sort();
  const pair: ConflictPair = {
    aggregateType: aggregate.type,
    aggregateId: aggregate.id,
    eventIds: [a.eventId, b.eventId],
    hlcs: [a.hlc, b.hlc],
    origins: [a.origin, b.origin],
    resolvedBy: resolutions[0] ?? null,
  };
  return pair;
}

/**
 * The conflict pairs an arriving event takes part in, given the aggregate's whole set of events: every
 * event of the set concurrent with it. The union over all arrivals is every concurrent pair of the
 * final set, whatever the arrival order, so all regions record the same conflicts. A `ConflictResolved`
 * also yields every concurrent pair it has seen, now resolved.
 */
export function conflictPairsFor(
  aggregate: { type: string; id: string },
  event: Causal,
  set: readonly Causal[],
): ConflictPair[] {
  const all = sortByHlc([...set, event]);
  const pairs = concurrentWith(event, all).map((other) => pairOf(aggregate, event, other, all));
  if (!isConflictResolved(event)) return pairs;
  const seen = all.filter((e) => e.eventId !== event.eventId && dominates(event.vv, e.vv));
  for (const [i, x] of seen.entries()) {
    for (const y of seen.slice(i + 1)) if (areConcurrent(x, y)) pairs.push(pairOf(aggregate, x, y, all));
  }
  return pairs;
}

/** An `lww` pair, settled as it arrived: the higher HLC won, the other event's write lost. */
export interface LwwOutcome {
  readonly policy: 'lww';
  readonly winner: string;
  readonly loser: string;
  /** When the conflict came to be: the later event's HLC wall time (the same in every region). */
  readonly detectedAt: string;
}

/**
 * The outcome of a pair under `lww`, a pure function of the pair: every region records the same one
 * whatever the arrival order. HLCs order like their encodings (ties broken by the origin region).
 */
export function lwwOutcome(pair: ConflictPair): LwwOutcome {
  const [a, b] = pair.eventIds;
  const [ha, hb] = pair.hlcs;
  const aWins = ha > hb;
  const later = aWins ? ha : hb;
  return {
    policy: 'lww',
    winner: aWins ? a : b,
    loser: aWins ? b : a,
    detectedAt: new Date(decodeHlc(later).wall).toISOString(),
  };
}
