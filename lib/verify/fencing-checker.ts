import type { Anomaly } from './anomaly.ts';
import type { RegionSnapshot } from './snapshot.ts';

/** What the fencing checker found. */
export interface FencingCheck {
  readonly anomalies: Anomaly[];
  /** Distinct (partition, epoch) pairs that carried core writes. */
  readonly epochs: number;
  readonly coreEvents: number;
}

/**
 * Fencing: reads every region's events table, groups core events by (partition, epoch) and requires a
 * single origin per group (at most one writer per partition per epoch). Forks and joins of one core log
 * are the core-log checker's (checkCoreLogs).
 */
export function checkFencing(regions: readonly RegionSnapshot[]): FencingCheck {
  const origins = new Map<string, Map<string, string>>();
  const ids = new Set<string>();
  for (const region of regions) {
    for (const event of region.events) {
      if (!event.core) continue;
      ids.add(event.eventId);
      const group = `${event.partition}@${event.epoch}`;
      const writers = origins.get(group) ?? new Map<string, string>();
      if (!writers.has(event.origin)) writers.set(event.origin, event.eventId);
      origins.set(group, writers);
    }
  }
  const anomalies: Anomaly[] = [];
  for (const [group, writers] of origins) {
    if (writers.size < 2) continue;
    const [partition, epoch] = group.split('@');
    anomalies.push({
      checker: 'fencing',
      kind: 'double-epoch',
      key: `partition/${partition}`,
      message: `partition ${partition} epoch ${epoch} has core writes from ${[...writers]
        .sort()
        .map(([origin, id]) => `${origin} (e.g. ${id})`)
        .join(' and ')}`,
    });
  }
  return { anomalies, epochs: origins.size, coreEvents: ids.size };
}
