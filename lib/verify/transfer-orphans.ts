import type { Anomaly } from './anomaly.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** When a transfer may have lost part of itself with a region (see transfersHitByRegionLoss). */
export interface OrphanPolicy {
  /** `core.ack` of the run: only `local` may lose an acknowledged step or decision. */
  readonly ackMode?: 'local' | 'quorum';
  /** The regions successful Failovers took over during the run. */
  readonly lostRegions?: readonly string[];
}

/** The transfer an event belongs to: a transfer's own event, or an account step naming it. */
function transferOf(event: StoredEvent): string | undefined {
  if (event.aggregateType === 'transfer') return event.aggregateId;
  const id = event.payload.transferId;
  return event.aggregateType === 'account' && typeof id === 'string' ? id : undefined;
}

/**
 * Transfers a region loss cut through, with the events they lost. Under `core.ack: local` every step
 * and the decision are core writes acknowledged by their home alone: a Failover that takes the home over
 * before one replicated leaves it the losing side of a fork, and the next home goes on without it (it may
 * redo the step, or decide the other way). The lost event waits in the manual queue for an operator, as
 * any acknowledged core write does (the core checker's "queued as orphans"); until it is settled the
 * transfer may look half-done, doubled or undecided. A transfer is hit when some region's manual queue
 * keeps one of its events that its log lacks, written by a region a Failover took over. Under `quorum`
 * none is (a step or decision is acknowledged only on a majority, which the Failover collects).
 */
export function transfersHitByRegionLoss(
  regions: readonly RegionSnapshot[],
  policy: OrphanPolicy,
): Map<string, StoredEvent[]> {
  const hit = new Map<string, StoredEvent[]>();
  if (policy.ackMode !== 'local') return hit;
  const lost = new Set(policy.lostRegions ?? []);
  const seen = new Set<string>();
  for (const region of regions) {
    const logged = new Set(region.events.map((e) => e.eventId));
    for (const event of (region.conflicts ?? []).flatMap((c) => c.events)) {
      const transfer = transferOf(event);
      if (!transfer || !lost.has(event.origin) || logged.has(event.eventId) || seen.has(event.eventId))
        continue;
      seen.add(event.eventId);
      hit.set(transfer, [...(hit.get(transfer) ?? []), event]);
    }
  }
  return hit;
}

/** Every lost event of a hit transfer must be kept by every region's manual queue: nothing silently dropped. */
export function checkOrphansQueued(
  regions: readonly RegionSnapshot[],
  hit: ReadonlyMap<string, readonly StoredEvent[]>,
): Anomaly[] {
  const found: Anomaly[] = [];
  for (const region of regions) {
    const queued = new Set((region.conflicts ?? []).flatMap((c) => c.events.map((e) => e.eventId)));
    for (const [transfer, events] of hit)
      for (const event of events.filter((e) => !queued.has(e.eventId)))
        found.push({
          checker: 'transfers',
          kind: 'orphan-not-queued',
          key: `transfer/${transfer}`,
          region: region.region,
          message: `${event.type} ${event.eventId} of ${event.origin} (lost with it) is in another region's manual queue, not this one's`,
        });
  }
  return found;
}
