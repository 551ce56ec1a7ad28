/**
 * `items` grouped by `keyOf`, in first-seen key order, each group in input order. Groups are appended in
 * place: copying a group per item made the runbooks' grouping quadratic in one group's size (50,000 missed
 * events of one aggregate took ~58 s of CPU just to group).
 * @example groupBy(events, (e) => `${e.aggregateType}#${e.aggregateId}`)
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
