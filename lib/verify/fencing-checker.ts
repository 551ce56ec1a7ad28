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
 * single origin per group (at most one writer per partition per epoch); also requires one event per
 * (aggregate, seq) across all regions, since two accepted writers fork a core log.
 */
export function checkFencing(regions: readonly RegionSnapshot[]): FencingCheck {
  const origins = new Map<string, Set<string>>();
  const slots = new Map<string, Set<string>>();
  const ids = new Set<string>();
  for (const region of regions) {
    for (const event of region.events) {
      if (!event.core) continue;
      ids.add(event.eventId);
      const group = `${event.partition}@${event.epoch}`;
      origins.set(group, (origins.get(group) ?? new Set()).add(event.origin));
      const slot = `${event.aggregateType}/${event.aggregateId}#${event.seq}`;
      slots.set(slot, (slots.get(slot) ?? new Set()).add(event.eventId));
    }
  }
  const anomalies: Anomaly[] = [];
  for (const [group, set] of origins) {
    if (set.size < 2) continue;
    const [partition, epoch] = group.split('@');
    anomalies.push({
      checker: 'fencing',
      kind: 'double-epoch',
      key: `partition/${partition}`,
      message: `partition ${partition} epoch ${epoch} has core writes from ${[...set].sort().join(' and ')}`,
    });
  }
  for (const [slot, set] of slots) {
    if (set.size < 2) continue;
    anomalies.push({
      checker: 'fencing',
      kind: 'forked-log',
      key: slot.slice(0, slot.lastIndexOf('#')),
      message: `${slot} holds ${set.size} different events (${[...set].sort().join(', ')}) across regions`,
    });
  }
  return { anomalies, epochs: origins.size, coreEvents: ids.size };
}
