import type { Anomaly } from './anomaly.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** What the core-log checker found. */
export interface CoreLogCheck {
  readonly anomalies: Anomaly[];
  /** Core aggregates whose logs were compared. */
  readonly aggregates: number;
  /** Core events compared (distinct event ids). */
  readonly events: number;
}

/** Every region's core log per aggregate (`<type>/<id>`), each in seq order. */
function coreLogs(regions: readonly RegionSnapshot[]): Map<string, Map<string, StoredEvent[]>> {
  const logs = new Map<string, Map<string, StoredEvent[]>>();
  for (const region of regions)
    for (const event of region.events) {
      if (!event.core) continue;
      const key = `${event.aggregateType}/${event.aggregateId}`;
      const perRegion = logs.get(key) ?? new Map<string, StoredEvent[]>();
      perRegion.set(region.region, [...(perRegion.get(region.region) ?? []), event]);
      logs.set(key, perRegion);
    }
  for (const perRegion of logs.values())
    for (const log of perRegion.values()) log.sort((a, b) => a.seq - b.seq);
  return logs;
}

/** Within one region's log: seqs 1..n with no gap or repeat, and each event chained to its predecessor. */
function checkChain(key: string, region: string, log: readonly StoredEvent[]): Anomaly[] {
  const found: Anomaly[] = [];
  log.forEach((event, i) => {
    const before = log[i - 1];
    if (event.seq !== i + 1)
      found.push({
        checker: 'core-log',
        kind: 'log-gap',
        key,
        region,
        message: `seq ${event.seq} (${event.eventId}) at position ${i + 1}`,
      });
    const expected = before?.hlc ?? null;
    if (event.prev !== expected)
      found.push({
        checker: 'core-log',
        kind: 'joined-log',
        key,
        region,
        message: `seq ${event.seq} (${event.eventId}, from ${event.origin} at epoch ${event.epoch}) follows ${event.prev ?? 'nothing'}, but its predecessor in this log is ${before ? `seq ${before.seq} (${before.eventId}, hlc ${before.hlc})` : 'nothing'}: two branches joined`,
      });
  });
  return found;
}

/** Across regions: after heal every region holds the whole log (forks are the fencing checker's). */
function checkConverged(key: string, perRegion: ReadonlyMap<string, readonly StoredEvent[]>): Anomaly[] {
  if (new Set([...perRegion.values()].map((l) => l.length)).size < 2) return [];
  const lengths = [...perRegion].map(([region, log]) => `${region}: ${log.length}`);
  return [
    {
      checker: 'core-log',
      kind: 'not-converged',
      key,
      message: `logs of different lengths after heal (${lengths.join(', ')})`,
    },
  ];
}

/**
 * Core logs, region by region: within each region's log seqs run 1..n and every event's `prev` is the HLC
 * of its predecessor in that log (else two branches were joined: `joined-log`), and after heal every
 * region holds the whole log (`not-converged`; a region missing from an aggregate counts as an empty log).
 * A fork (the same seq holding different events in two regions) is reported by checkFencing.
 */
export function checkCoreLogs(regions: readonly RegionSnapshot[]): CoreLogCheck {
  const anomalies: Anomaly[] = [];
  const ids = new Set<string>();
  const logs = coreLogs(regions);
  for (const [key, perRegion] of logs) {
    for (const region of regions) if (!perRegion.has(region.region)) perRegion.set(region.region, []);
    for (const [region, log] of perRegion) {
      for (const event of log) ids.add(event.eventId);
      anomalies.push(...checkChain(key, region, log));
    }
    anomalies.push(...checkConverged(key, perRegion));
  }
  return { anomalies, aggregates: logs.size, events: ids.size };
}
