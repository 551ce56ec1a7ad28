import { canonicalJson } from '../lib/model/canonical-json.ts';
import type { EventEnvelope } from '../lib/model/index.ts';

/** How a restored log differs from the log it should equal (every count 0: the round trip lost nothing). */
export interface LogDifference {
  /** Events of the original the restored log does not hold (by eventId). */
  readonly lost: number;
  /** Events it holds with other bytes (canonical JSON) or at another position. */
  readonly changed: number;
  /** Events of the restored log the original never had, and second copies of one eventId. */
  readonly extra: number;
}

/**
 * Compares a restored log with the original, event for event: each original event must be in the restored
 * log at the same position with byte-equal canonical JSON, and the restored log must hold nothing else.
 * @example logDifference(before, await fullHistory(deps, 'account', id)) // { lost: 0, changed: 0, extra: 0 }
 */
export function logDifference(
  original: readonly EventEnvelope[],
  restored: readonly EventEnvelope[],
): LogDifference {
  const at = new Map<string, number>();
  let extra = 0;
  for (const [i, event] of restored.entries()) {
    if (at.has(event.eventId)) extra++;
    else at.set(event.eventId, i);
  }
  const known = new Set<string>();
  let lost = 0;
  let changed = 0;
  for (const [i, event] of original.entries()) {
    known.add(event.eventId);
    const j = at.get(event.eventId);
    if (j === undefined) lost++;
    else if (j !== i || canonicalJson(restored[j]) !== canonicalJson(event)) changed++;
  }
  for (const id of at.keys()) if (!known.has(id)) extra++;
  return { lost, changed, extra };
}

/** The sum of two differences (one per aggregate, added up over a run). */
export function addDifference(a: LogDifference, b: LogDifference): LogDifference {
  return { lost: a.lost + b.lost, changed: a.changed + b.changed, extra: a.extra + b.extra };
}
