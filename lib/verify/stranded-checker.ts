import type { Anomaly } from './anomaly.ts';
import type { RegionSnapshot } from './snapshot.ts';

/** What the stranded-work checker found. */
export interface StrandedCheck {
  readonly anomalies: Anomaly[];
  readonly quarantined: number;
  readonly explained: number;
}

/**
 * Nothing stranded after heal: no core event still parked, no bus delivery dead-lettered, and the
 * quarantine empty except for entries `explain` accounts for (e.g. poison the run injected on purpose).
 */
export function checkStranded(input: {
  readonly regions: readonly RegionSnapshot[];
  /** Dead-lettered deliveries per region (the sandbox keeps them where the DLQ would). */
  readonly deadLetters?: Readonly<Record<string, number>>;
  /** The explanation of an expected quarantine entry, or undefined when nothing explains it. */
  readonly explain?: (entry: RegionSnapshot['quarantine'][number], region: string) => string | undefined;
}): StrandedCheck {
  const anomalies: Anomaly[] = [];
  let quarantined = 0;
  let explained = 0;
  for (const region of input.regions) {
    for (const entry of region.quarantine) {
      quarantined++;
      if (input.explain?.(entry, region.region)) {
        explained++;
        continue;
      }
      anomalies.push({
        checker: 'stranded',
        kind: 'quarantined',
        region: region.region,
        message: `${entry.reason}: ${entry.message} (event ${entry.eventId ?? '?'} from ${entry.origin ?? '?'})`,
      });
    }
    if (region.parked > 0)
      anomalies.push({
        checker: 'stranded',
        kind: 'parked',
        region: region.region,
        message: `${region.parked} core event(s) still parked`,
      });
    const dead = input.deadLetters?.[region.region] ?? 0;
    if (dead > 0)
      anomalies.push({
        checker: 'stranded',
        kind: 'dead-letter',
        region: region.region,
        message: `${dead} delivery(ies) dead-lettered`,
      });
  }
  return { anomalies, quarantined, explained };
}
