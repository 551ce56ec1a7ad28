import { bugEnabled } from '../faults/switches.ts';
import { DynamoPublishHolds, type PublishHold } from '../replication/publish-holds.ts';
import type { RegionCell } from './ports.ts';

/**
 * Releases, in each region of `into`, the publish holds (PUBLISH_HOLD in its replication table) of events
 * every other region already holds. A point-in-time restore brings back the holds of T with the tables,
 * while the restored stream never publishes those events again: nothing else would release them, every
 * heartbeat would carry the oldest one, and every peer's watermark from the region would stop below it
 * for good. A hold whose event some peer lacks stays (the floor is right: that peer may still miss it).
 * A hold without its partition (written before holds recorded it) is looked up in `partitions`.
 * Returns how many holds were released.
 */
export async function releasePublishedHolds(
  cells: readonly RegionCell[],
  into: readonly string[],
  partitions: readonly number[],
): Promise<number> {
  if (bugEnabled('repair-keeps-restored-holds')) return 0;
  let released = 0;
  for (const cell of cells) {
    if (!into.includes(cell.region)) continue;
    const holds = new DynamoPublishHolds({ client: cell.tables.client, tableName: cell.tables.replication });
    const held = await holds.list();
    if (held.length === 0) continue;
    const peers = cells.filter((c) => c.region !== cell.region);
    const heldEverywhere: string[] = [];
    for (const [partition, ids] of await byPartition(cell, held, partitions)) {
      const holders = await Promise.all(peers.map((p) => p.source.getEvents(partition, ids)));
      for (const id of ids)
        if (holders.every((events) => events.some((e) => e.eventId === id))) heldEverywhere.push(id);
    }
    await holds.release(heldEverywhere);
    released += heldEverywhere.length;
  }
  return released;
}

/** The held ids per partition: a hold's own partition, else the one of `partitions` the region's log holds it in. */
async function byPartition(
  cell: RegionCell,
  held: readonly PublishHold[],
  partitions: readonly number[],
): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  const add = (partition: number, id: string) => found.set(partition, [...(found.get(partition) ?? []), id]);
  const unplaced = new Set<string>();
  for (const hold of held) {
    if (hold.partition === undefined) unplaced.add(hold.id);
    else add(hold.partition, hold.id);
  }
  for (const partition of partitions) {
    if (unplaced.size === 0) break;
    for (const event of await cell.source.getEvents(partition, [...unplaced])) {
      add(partition, event.eventId);
      unplaced.delete(event.eventId);
    }
  }
  return found;
}
