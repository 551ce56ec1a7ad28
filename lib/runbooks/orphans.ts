import type { EventEnvelope } from '../model/envelope.ts';
import { bucketOf } from '../repair/merkle.ts';
import { buildTrees, differingBuckets, REPAIR_BUCKETS } from './heal.ts';
import { mapBounded } from './input.ts';
import type { RegionCell } from './ports.ts';

/** An event only the returning region holds, with the peers that lack it. */
export interface Orphan {
  readonly event: EventEnvelope;
  readonly missingAt: readonly string[];
}

/**
 * Events the returning region wrote itself that some peer lacks (after catch-up, only those remain):
 * its unreplicated writes from before the failure. Found by Merkle diff per partition, so partitions in
 * sync cost one tree each.
 */
export async function findOrphans(input: {
  readonly returning: RegionCell;
  readonly peers: readonly RegionCell[];
  readonly partitions: readonly number[];
  readonly concurrency: number;
}): Promise<Orphan[]> {
  const cells = [input.returning, ...input.peers];
  const found = await mapBounded(input.partitions, input.concurrency, async (partition) => {
    const differing = new Set(differingBuckets(await buildTrees(cells, partition)));
    if (differing.size === 0) return [];
    const leaves = await Promise.all(cells.map((c) => c.source.listLeaves(partition)));
    const inBuckets = (i: number) =>
      new Set(
        leaves[i]!.filter((l) => differing.has(bucketOf(l.aggregateKey, REPAIR_BUCKETS))).map(
          (l) => l.eventId,
        ),
      );
    const mine = inBuckets(0);
    const peerSets = input.peers.map((_, i) => inBuckets(i + 1));
    const lacking = new Map<string, string[]>();
    for (const id of mine) {
      const missingAt = input.peers.filter((_, i) => !peerSets[i]!.has(id)).map((p) => p.region);
      if (missingAt.length > 0) lacking.set(id, missingAt);
    }
    if (lacking.size === 0) return [];
    const events = await input.returning.source.getEvents(partition, [...lacking.keys()]);
    return events
      .filter((e) => e.origin === input.returning.region)
      .map((event) => ({ event, missingAt: lacking.get(event.eventId) ?? [] }));
  });
  return found.flat();
}
