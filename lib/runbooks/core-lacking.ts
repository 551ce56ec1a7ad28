import { SNAPSHOTS_TRIED } from '../lifecycle/fold.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { EventLeaf } from '../repair/merkle.ts';
import { readCoreMarkers } from '../store/core-markers.ts';
import { aggregateKey } from '../store/keys.ts';
import { mapBounded } from './input.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** True when `aggregateKey` (`type#id`) names an aggregate of the core tier. */
export function isCoreKey(deps: Pick<RunbookDeps, 'registry'>, key: string): boolean {
  const type = key.slice(0, key.indexOf('#'));
  return deps.registry.has(type) && deps.registry.get(type).tier === 'core';
}

/**
 * Event ids of the core events of `partition` that `holder`'s log holds and `other`'s lacks, decided from
 * strongly consistent reads only: the aggregates come from `holder`'s core markers (put in the same
 * transaction as every core event of its log, lib/store/core-markers.ts), and each aggregate's log is
 * read in both regions by a consistent base-table query. The by-partition index is eventually consistent
 * with no upper bound on AWS: an acknowledged write it does not list yet must still count. `listed`, the
 * leaves that index did return for `holder`, only adds aggregates (events logged before markers existed).
 * Events `other` archived below a snapshot both logs agree on are not lacking (`archivedBelow`).
 */
export async function coreEventsLacking(
  deps: Pick<RunbookDeps, 'registry' | 'concurrency'>,
  move: { holder: RegionCell; other: RegionCell; partition: number },
  listed: readonly EventLeaf[] | Promise<readonly EventLeaf[]> = [],
): Promise<string[]> {
  const { holder, other } = move;
  const keys = await coreAggregatesOf(deps, holder, move.partition, listed);
  const lacking = await mapBounded(keys, deps.concurrency ?? 16, async ([type, id]) => {
    const [held, there] = await Promise.all([
      holder.events.loadStream(type, id, { consistentRead: true }),
      other.events.loadStream(type, id, { consistentRead: true }),
    ]);
    return (await eventsLackingIn(other, { type, id, held, there })).map((e) => e.eventId);
  });
  return lacking.flat();
}

/**
 * The core aggregates (type, id) of `partition` in `holder`'s log: its core markers (strongly consistent,
 * see coreEventsLacking), plus the core aggregates of `listed` (leaves of its by-partition index).
 */
export async function coreAggregatesOf(
  deps: Pick<RunbookDeps, 'registry'>,
  holder: RegionCell,
  partition: number,
  listed: readonly EventLeaf[] | Promise<readonly EventLeaf[]> = [],
): Promise<Array<[string, string]>> {
  // Both are reads of the holder's head: taken together (one round trip to a remote holder, not two).
  const [marked, leaves] = await Promise.all([
    readCoreMarkers(holder.tables.client, holder.tables.replication, partition),
    listed,
  ]);
  const keys = new Set(marked.map(([type, id]) => aggregateKey(type, id)));
  for (const leaf of leaves) if (isCoreKey(deps, leaf.aggregateKey)) keys.add(leaf.aggregateKey);
  return [...keys].map((key) => {
    const at = key.indexOf('#');
    return [key.slice(0, at), key.slice(at + 1)];
  });
}

/**
 * The events of `held` (one aggregate's log in another region) that `there` (its log in `other`) lacks,
 * except those `other` archived below a snapshot both logs agree on (`archivedBelow`).
 */
export async function eventsLackingIn(
  other: RegionCell,
  logs: { type: string; id: string; held: readonly EventEnvelope[]; there: readonly EventEnvelope[] },
): Promise<EventEnvelope[]> {
  const present = new Set(logs.there.map((e) => e.eventId));
  const archived = await archivedBelow(other, logs);
  return logs.held.filter((e) => !present.has(e.eventId) && e.seq >= archived);
}

/**
 * The seq below which `other` may have archived its log (lib/lifecycle): that of its newest snapshot whose
 * last event both logs hold (same eventId at that seq). Each core event names its predecessor, so two logs
 * that share that event share everything before it: what `other` lacks below it left for the archive, it is
 * not missing. 0 when there is no such snapshot (every event counts).
 */
async function archivedBelow(
  other: RegionCell,
  logs: {
    type: string;
    id: string;
    held: readonly EventEnvelope[];
    there: readonly EventEnvelope[];
  },
): Promise<number> {
  if (!other.snapshots || logs.there[0]?.seq === 1) return 0;
  const idAt = (log: readonly EventEnvelope[], seq: number) => log.find((e) => e.seq === seq)?.eventId;
  let tried = 0;
  for await (const snapshot of other.snapshots.newestFirst(logs.type, logs.id)) {
    const head = snapshot.headEventId;
    if (idAt(logs.there, snapshot.seq) === head && idAt(logs.held, snapshot.seq) === head)
      return snapshot.seq;
    if (++tried >= SNAPSHOTS_TRIED) break;
  }
  return 0;
}
