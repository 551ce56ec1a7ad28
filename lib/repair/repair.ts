import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import { bucketOf, buildMerkleTree, diffBuckets, type EventLeaf, rootOf } from './merkle.ts';
import type { PartitionEventSource } from './partition-source.ts';
import { fetchFromHolders, planReplay } from './plan.ts';

/** Replays events into one region (through its applier, which is idempotent). */
export type ReplayInto = (region: string, events: readonly EventEnvelope[]) => Promise<void>;

export interface RepairPartitionOptions {
  readonly partition: number;
  /** Every region's source, in a fixed order (the first holder of an event is its source, the next ones its fallbacks). */
  readonly sources: ReadonlyMap<string, PartitionEventSource>;
  readonly replay: ReplayInto;
  readonly buckets?: number;
  /** Only compare and report; replay nothing. */
  readonly dryRun?: boolean;
}

export interface PartitionRepairReport {
  readonly partition: number;
  readonly roots: Readonly<Record<string, string>>;
  readonly bucketsDiffering: number[];
  /** region → events replayed into it. */
  readonly replayed: Readonly<Record<string, number>>;
}

/** Core events must reach the applier in sequence order per aggregate; others in HLC order. */
export function replayOrder(a: EventEnvelope, b: EventEnvelope): number {
  const byAggregate = `${a.aggregateType}#${a.aggregateId}`.localeCompare(
    `${b.aggregateType}#${b.aggregateId}`,
  );
  return byAggregate || a.seq - b.seq || (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0);
}

/**
 * Splits events to replay into at most `lanes` lists that can be replayed concurrently: an aggregate's
 * events always share a lane, in `replayOrder`, so core events still reach the applier in seq order.
 */
export function replayLanes(events: readonly EventEnvelope[], lanes: number): EventEnvelope[][] {
  const byLane = groupBy([...events].sort(replayOrder), (event) =>
    bucketOf(`${event.aggregateType}#${event.aggregateId}`, Math.max(1, lanes)),
  );
  return [...byLane.values()];
}

/**
 * Anti-entropy for one partition: builds each region's Merkle tree, finds the buckets that differ, and
 * replays every event a region lacks from a region that has it. Idempotent: running it again after a
 * successful run finds no difference.
 */
export async function repairPartition(options: RepairPartitionOptions): Promise<PartitionRepairReport> {
  const buckets = options.buckets ?? 64;
  const leaves = new Map<string, EventLeaf[]>();
  await Promise.all(
    [...options.sources].map(async ([region, source]) =>
      leaves.set(region, await source.listLeaves(options.partition)),
    ),
  );
  const regions = [...options.sources.keys()];
  const trees = regions.map((region) => buildMerkleTree(leaves.get(region)!, buckets));
  const roots = Object.fromEntries(regions.map((region, i) => [region, rootOf(trees[i]!)]));
  const differing = diffBuckets(trees);
  const replayed: Record<string, number> = {};
  if (differing.length === 0 || options.dryRun)
    return { partition: options.partition, roots, bucketsDiffering: differing, replayed };

  const inDiffering = new Set(differing);
  const plan = planReplay(
    new Map(
      regions.map((r) => [
        r,
        leaves.get(r)!.filter((l) => inDiffering.has(bucketOf(l.aggregateKey, buckets))),
      ]),
    ),
  );
  for (const [region, lacking] of plan.missing) {
    // Each event from its first holder, then the next for what a holder has only as an archived stub.
    const { found } = await fetchFromHolders(lacking, (source, ids) =>
      options.sources.get(source)!.getEvents(options.partition, ids),
    );
    const events = [...found.values()];
    await options.replay(region, events.sort(replayOrder));
    replayed[region] = events.length;
  }
  return { partition: options.partition, roots, bucketsDiffering: differing, replayed };
}

export interface RepairRunReport {
  readonly partitionsChecked: number;
  readonly partitionsDiffering: number;
  readonly bucketsDiffering: number;
  readonly eventsReplayed: number;
  readonly durationMs: number;
  readonly partitions: readonly PartitionRepairReport[];
}

/** Repairs many partitions, `concurrency` at a time, reporting progress after each. */
export async function repairPartitions(
  options: Omit<RepairPartitionOptions, 'partition'> & {
    readonly partitions: readonly number[];
    readonly concurrency?: number;
    readonly onProgress?: (done: number, total: number, report: PartitionRepairReport) => void;
  },
): Promise<RepairRunReport> {
  const started = Date.now();
  const queue = [...options.partitions];
  const reports: PartitionRepairReport[] = [];
  const worker = async () => {
    for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
      const report = await repairPartition({ ...options, partition });
      reports.push(report);
      options.onProgress?.(reports.length, options.partitions.length, report);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  reports.sort((a, b) => a.partition - b.partition);
  return summarize(reports, Date.now() - started);
}

/** Totals of a set of partition reports. */
export function summarize(reports: readonly PartitionRepairReport[], durationMs: number): RepairRunReport {
  const replayed = (r: PartitionRepairReport) => Object.values(r.replayed).reduce((a, b) => a + b, 0);
  return {
    partitionsChecked: reports.length,
    partitionsDiffering: reports.filter((r) => r.bucketsDiffering.length > 0).length,
    bucketsDiffering: reports.reduce((n, r) => n + r.bucketsDiffering.length, 0),
    eventsReplayed: reports.reduce((n, r) => n + replayed(r), 0),
    durationMs,
    partitions: reports,
  };
}
