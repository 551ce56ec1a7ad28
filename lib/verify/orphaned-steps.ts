import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** Account events only a transfer's steps write (each names its transfer). */
const STEP_TYPES = new Set(['HoldPlaced', 'HoldSettled', 'HoldReleased', 'TransferCredited']);

/** When a transfer step lost with its home is excused (see orphanedSteps). */
export interface OrphanPolicy {
  /** `core.ack` of the run: only `local` may lose an acknowledged step. */
  readonly ackMode?: 'local' | 'quorum';
  /** The regions successful Failovers took over during the run. */
  readonly lostRegions?: readonly string[];
}

/**
 * The transfer steps on `accounts` that one region keeps in its manual queue and not in its log, by
 * account. Under `core.ack: local` a step the lost home acknowledged (a debit, a credit, a release) may be
 * the losing side of a fork after a Failover took that home over, exactly as any acknowledged core write
 * (the core checker's "queued as orphans"): the saga went on, and the step waits in the queue for an
 * operator. Only those are returned: written by a region a Failover took over, under `ack: local`. Under
 * `quorum` none is (every step acknowledged was on a majority).
 */
export function orphanedSteps(
  region: RegionSnapshot,
  accounts: readonly string[],
  policy: OrphanPolicy,
): Map<string, StoredEvent[]> {
  const found = new Map<string, StoredEvent[]>();
  if (policy.ackMode !== 'local') return found;
  const lost = new Set(policy.lostRegions ?? []);
  const wanted = new Set(accounts);
  const logged = new Set(region.events.map((e) => e.eventId));
  const seen = new Set<string>();
  for (const record of region.conflicts ?? []) {
    if (record.aggregateType !== 'account' || !wanted.has(record.aggregateId)) continue;
    for (const event of record.events) {
      if (!STEP_TYPES.has(event.type) || !lost.has(event.origin)) continue;
      if (logged.has(event.eventId) || seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      found.set(record.aggregateId, [...(found.get(record.aggregateId) ?? []), event]);
    }
  }
  return found;
}
