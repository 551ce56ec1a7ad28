import {
  type ControlReplica,
  type PartitionValue,
  partitionKey,
  type RegisterRecord,
  readFromReplica,
} from '../ownership/index.ts';

/** One partition as every reachable replica stores it: the entry a majority agrees on, if any. */
export interface PartitionView {
  readonly partition: number;
  readonly home: string | undefined;
  readonly state: 'active' | 'fenced' | undefined;
  readonly epoch: number | undefined;
  /** Replicas holding exactly this entry (same epoch and ballot). */
  readonly agreeing: number;
  /** True when a majority of all regions holds the same entry (or none holds any entry). */
  readonly majority: boolean;
}

/** The map read from every replica's copy, as the console and readiness show it. */
export interface MapView {
  readonly partitions: readonly PartitionView[];
  /** Regions whose control table answered. */
  readonly answered: readonly string[];
  readonly regions: number;
  /** Partitions per home (fenced ones counted under their home). */
  readonly perHome: Readonly<Record<string, number>>;
  readonly fenced: readonly number[];
  /** Partitions whose entry no majority of regions agrees on. */
  readonly disagreeing: readonly number[];
}

type Copies = ReadonlyMap<string, ReadonlyMap<string, RegisterRecord<PartitionValue> | null>>;

/** The view of one partition from the copies (pure). */
export function viewOf(partition: number, copies: Copies, regions: number): PartitionView {
  const key = partitionKey(partition);
  const held = new Map<string, { record: RegisterRecord<PartitionValue>; count: number }>();
  let empty = 0;
  for (const records of copies.values()) {
    const record = records.get(key) ?? null;
    if (!record) {
      empty++;
      continue;
    }
    const id = `${record.epoch}#${record.ballot}`;
    const seen = held.get(id);
    held.set(id, { record, count: (seen?.count ?? 0) + 1 });
  }
  const needed = Math.floor(regions / 2) + 1;
  const best = [...held.values()].sort((a, b) => b.count - a.count || b.record.epoch - a.record.epoch)[0];
  if (!best)
    return {
      partition,
      home: undefined,
      state: undefined,
      epoch: undefined,
      agreeing: empty,
      majority: empty >= needed,
    };
  return {
    partition,
    home: best.record.value.home,
    state: best.record.value.state,
    epoch: best.record.epoch,
    agreeing: best.count,
    majority: best.count >= needed,
  };
}

/** Summarizes per-partition views (pure). */
export function summarizeMap(
  views: readonly PartitionView[],
  answered: readonly string[],
  regions: number,
): MapView {
  const perHome: Record<string, number> = {};
  for (const view of views) if (view.home) perHome[view.home] = (perHome[view.home] ?? 0) + 1;
  return {
    partitions: views,
    answered,
    regions,
    perHome,
    fenced: views.filter((v) => v.state === 'fenced').map((v) => v.partition),
    disagreeing: views.filter((v) => !v.majority).map((v) => v.partition),
  };
}

/**
 * Reads every partition's entry from each replica (one batched read per replica; a replica that fails to
 * answer is left out) and compares the copies. Replicas are the regions' control tables.
 */
export async function readMapView(
  replicas: readonly ControlReplica[],
  partitions: number,
  regions = replicas.length,
): Promise<MapView> {
  const keys = Array.from({ length: partitions }, (_, p) => partitionKey(p));
  const copies = new Map<string, ReadonlyMap<string, RegisterRecord<PartitionValue> | null>>();
  await Promise.all(
    replicas.map(async (replica) => {
      try {
        copies.set(replica.region, await readFromReplica<PartitionValue>(replica, keys));
      } catch {
        // An unreachable region is reported by `answered`; the majority rule decides without it.
      }
    }),
  );
  const views = Array.from({ length: partitions }, (_, p) => viewOf(p, copies, regions));
  return summarizeMap(views, [...copies.keys()], regions);
}
