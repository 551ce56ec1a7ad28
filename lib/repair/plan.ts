import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { EventLeaf } from './merkle.ts';

/** For one differing bucket: which events each region lacks and a region that has each of them. */
export interface ReplayPlan {
  /**
   * region → event ids it is missing, each with the regions that hold it: `source` the first, `sources`
   * all of them in the given order (a holder may have only its archived stub: the next one is asked).
   */
  readonly missing: ReadonlyMap<string, ReadonlyArray<LackingEvent>>;
}

/** An event a region lacks, with the regions that list it among their leaves. */
export interface LackingEvent {
  readonly eventId: string;
  readonly source: string;
  readonly sources: readonly string[];
  /** `type#id` of its aggregate. */
  readonly aggregateKey: string;
  /** Its core seq, when its leaf has one. */
  readonly seq?: number;
}

/**
 * Plans the replay for a set of buckets from every region's leaves in them: every region must end with the
 * union. The sources of an event are every region that holds it, in the given order (a leaf may be an
 * archived stub, which no replay can come from: the caller falls back to the next holder).
 */
export function planReplay(leavesByRegion: ReadonlyMap<string, readonly EventLeaf[]>): ReplayPlan {
  const holders = new Map<string, { sources: string[]; aggregateKey: string; seq?: number }>();
  const held = new Map<string, Set<string>>();
  for (const [region, leaves] of leavesByRegion) {
    const ids = new Set(leaves.map((l) => l.eventId));
    held.set(region, ids);
    for (const leaf of leaves) {
      const known = holders.get(leaf.eventId);
      if (!known)
        holders.set(leaf.eventId, {
          sources: [region],
          aggregateKey: leaf.aggregateKey,
          ...(leaf.seq === undefined ? {} : { seq: leaf.seq }),
        });
      else if (!known.sources.includes(region)) known.sources.push(region);
    }
  }
  const missing = new Map<string, LackingEvent[]>();
  for (const [region, ids] of held) {
    const lacking = [...holders.entries()]
      .filter(([id]) => !ids.has(id))
      .map(([eventId, holder]) => ({ eventId, source: holder.sources[0]!, ...holder }))
      .sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
    if (lacking.length > 0) missing.set(region, lacking);
  }
  return { missing };
}

/**
 * Whole copies of lacking events, each asked of its first holder, then of the next one for what a holder
 * gave no whole copy of (an archived stub, which `getEvents` leaves out), up to `rounds` holders; `pending`
 * is what no holder gave whole.
 */
export async function fetchFromHolders(
  lacking: readonly LackingEvent[],
  getEvents: (source: string, eventIds: string[]) => Promise<readonly EventEnvelope[]>,
  rounds = Number.POSITIVE_INFINITY,
): Promise<{ found: Map<string, EventEnvelope>; pending: LackingEvent[] }> {
  const found = new Map<string, EventEnvelope>();
  let pending = [...lacking];
  for (let round = 0; pending.length > 0 && round < rounds; round++) {
    const bySource = groupBy(
      pending.filter((l) => l.sources[round] !== undefined),
      (l) => l.sources[round]!,
    );
    if (bySource.size === 0) break;
    const fetched = await Promise.all(
      [...bySource].map(([source, held]) =>
        getEvents(
          source,
          held.map((l) => l.eventId),
        ),
      ),
    );
    for (const event of fetched.flat()) if (!isArchivedStub(event)) found.set(event.eventId, event);
    pending = pending.filter((l) => !found.has(l.eventId));
  }
  return { found, pending };
}
