import type { EventLeaf } from './merkle.ts';

/** For one differing bucket: which events each region lacks and a region that has each of them. */
export interface ReplayPlan {
  /** region → event ids it is missing, each with a source region that holds it. */
  readonly missing: ReadonlyMap<string, ReadonlyArray<{ eventId: string; source: string }>>;
}

/**
 * Plans the replay for a set of buckets from every region's leaves in them: every region must end with the
 * union. The source of an event is the first region (in the given order) that holds it.
 */
export function planReplay(leavesByRegion: ReadonlyMap<string, readonly EventLeaf[]>): ReplayPlan {
  const holders = new Map<string, string>();
  const held = new Map<string, Set<string>>();
  for (const [region, leaves] of leavesByRegion) {
    const ids = new Set(leaves.map((l) => l.eventId));
    held.set(region, ids);
    for (const id of ids) if (!holders.has(id)) holders.set(id, region);
  }
  const missing = new Map<string, Array<{ eventId: string; source: string }>>();
  for (const [region, ids] of held) {
    const lacking = [...holders.entries()]
      .filter(([id]) => !ids.has(id))
      .map(([eventId, source]) => ({ eventId, source }))
      .sort((a, b) => (a.eventId < b.eventId ? -1 : 1));
    if (lacking.length > 0) missing.set(region, lacking);
  }
  return { missing };
}
