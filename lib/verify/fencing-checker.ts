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
 * single origin per group (at most one writer per partition per epoch); and compares the regions' core
 * logs slot by slot: one event per (aggregate, seq) across all regions, else the log forked
 * (`forked-log`, naming which region holds which event). Joins are the core-log checker's.
 */
export function checkFencing(regions: readonly RegionSnapshot[]): FencingCheck {
  const origins = new Map<string, Map<string, string>>();
  const slots = new Map<string, Map<string, string[]>>();
  const ids = new Set<string>();
  for (const region of regions) {
    for (const event of region.events) {
      if (!event.core) continue;
      ids.add(event.eventId);
      const group = `${event.partition}@${event.epoch}`;
      const writers = origins.get(group) ?? new Map<string, string>();
      if (!writers.has(event.origin)) writers.set(event.origin, event.eventId);
      origins.set(group, writers);
      const slot = `${event.aggregateType}/${event.aggregateId}#${event.seq}`;
      const holders = slots.get(slot) ?? new Map<string, string[]>();
      holders.set(event.eventId, [...(holders.get(event.eventId) ?? []), region.region]);
      slots.set(slot, holders);
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
  for (const [slot, holders] of slots) {
    if (holders.size < 2) continue;
    anomalies.push({
      checker: 'fencing',
      kind: 'forked-log',
      key: slot.slice(0, slot.lastIndexOf('#')),
      message: `seq ${slot.slice(slot.lastIndexOf('#') + 1)} holds different events: ${[...holders]
        .map(([id, regions]) => `${id} in ${regions.join(', ')}`)
        .join(' | ')}`,
    });
  }
  return { anomalies, epochs: origins.size, coreEvents: ids.size };
}
