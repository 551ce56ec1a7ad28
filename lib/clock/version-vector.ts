/**
 * A version vector per aggregate: one counter per region that wrote to it. Whether two events are
 * concurrent is decided from their two vectors alone, never from the order they arrived in.
 */
export type VersionVector = Readonly<Record<string, number>>;

/** How two version vectors relate causally. */
export const CAUSAL_ORDER = {
  before: 'before',
  after: 'after',
  equal: 'equal',
  concurrent: 'concurrent',
} as const;
export type CausalOrder = (typeof CAUSAL_ORDER)[keyof typeof CAUSAL_ORDER];

/** Compares two vectors: `before` when a happened before b, `concurrent` when neither dominates. */
export function compareVectors(a: VersionVector, b: VersionVector): CausalOrder {
  let aBigger = false;
  let bBigger = false;
  for (const region of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[region] ?? 0;
    const y = b[region] ?? 0;
    if (x > y) aBigger = true;
    if (y > x) bBigger = true;
  }
  if (aBigger && bBigger) return CAUSAL_ORDER.concurrent;
  if (aBigger) return CAUSAL_ORDER.after;
  if (bBigger) return CAUSAL_ORDER.before;
  return CAUSAL_ORDER.equal;
}

/** Element-wise maximum (the vector of everything either side has seen). */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const merged: Record<string, number> = { ...a };
  for (const [region, count] of Object.entries(b)) merged[region] = Math.max(merged[region] ?? 0, count);
  return sortVector(merged);
}

/** The vector after `region` writes one more event on top of `seen`. */
export function incrementVector(seen: VersionVector, region: string): VersionVector {
  return sortVector({ ...seen, [region]: (seen[region] ?? 0) + 1 });
}

/** True when `a` has seen everything `b` has (a >= b element-wise). */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  const order = compareVectors(a, b);
  return order === CAUSAL_ORDER.after || order === CAUSAL_ORDER.equal;
}

/** Sum of all counters: how many events are causally at or before this one. */
export function vectorSize(v: VersionVector): number {
  return Object.values(v).reduce((sum, n) => sum + n, 0);
}

/** Keys sorted so that serialized vectors are byte-identical in every region. */
function sortVector(v: Record<string, number>): VersionVector {
  return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}
