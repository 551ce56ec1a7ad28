import { regionNames } from '../config/topology.ts';
import { bugEnabled } from '../faults/index.ts';
import { recreateOpenConflicts } from './conflict-queues.ts';
import type { RefusedEvent } from './direct-delivery.ts';
import { buildTrees, differingBuckets, type PartitionTrees, replayBuckets } from './heal.ts';
import { branchRules } from './heal-branches.ts';
import { TaskInput } from './input.ts';
import { partitionsToCheck } from './partitions.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import { releasePublishedHolds } from './publish-holds.ts';
import { quorumOrphanRule } from './quorum-orphans.ts';
import { timedStage } from './repair-timings.ts';

/**
 * Most Map items of one execution. Each item is an iteration of ~20 history events, and Step Functions fails
 * an execution past 25,000: past this many partitions, an item is a group of consecutive ones (checked one
 * after the other in the iteration's tasks), so a Repair of 65,536 partitions runs 512 iterations of 128.
 */
export const REPAIR_MAX_ITEMS = 512;

/** Failed partitions named in the Report (their count is exact). */
const MAX_FAILED_LISTED = 100;

/** Refused events listed (with their reasons) in the report; the counts are exact. */
const MAX_REFUSALS_REPORTED = 10;

/**
 * Refused events an item lists (the Map's REPAIR_MAX_ITEMS outputs all land in one state, 256 KiB, with
 * ListPartitions' items): one, without its message and with its aggregate cut, and the distinct reasons of
 * the item's other refusals (at most MAX_REASONS_PER_ITEM, cut): at most ~220 bytes an item (with the item's
 * counts, ~390: test/unit/runbooks/repair-refusals-size.test.ts).
 */
const MAX_REFUSALS_PER_ITEM = 1;
const MAX_REASONS_PER_ITEM = 2;
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}~` : text);

/** A refused event as a Map item lists it: its message left out (the reason names the check). */
export type ListedRefusal = Omit<RefusedEvent, 'message'> & { readonly message?: string };

/**
 * What an item's output says of its refusals: the exact count, the first MAX_REFUSALS_PER_ITEM events, the
 * distinct reasons of the others (besides the listed events' own). Nothing listed when there are none. Switch `repair-lists-ten-refusals-per-item`: ten
 * events per item, whole (512 items of refusals pass the state's 256 KiB).
 */
export function refusalsOfItem(refused: readonly RefusedEvent[]): {
  refused: number;
  refusedEvents?: ListedRefusal[];
  refusedReasons?: string[];
} {
  if (refused.length === 0) return { refused: 0 };
  if (bugEnabled('repair-lists-ten-refusals-per-item'))
    return { refused: refused.length, refusedEvents: refused.slice(0, MAX_REFUSALS_REPORTED) };
  const refusedEvents = refused.slice(0, MAX_REFUSALS_PER_ITEM).map(({ message: _m, ...e }) => ({
    ...e,
    aggregate: cut(e.aggregate, 32),
    reason: cut(e.reason, 20),
  }));
  const listed = new Set(refusedEvents.map((e) => e.reason));
  const refusedReasons = [...new Set(refused.map((e) => cut(e.reason, 20)))]
    .filter((reason) => !listed.has(reason))
    .sort()
    .slice(0, MAX_REASONS_PER_ITEM);
  return { refused: refused.length, refusedEvents, ...(refusedReasons.length > 0 ? { refusedReasons } : {}) };
}

/** A group's refusals: the summed count, listed as for one item (first events, the other reasons). */
function refusalsOfGroup(
  outputs: readonly Pick<IterationOutput, 'refused' | 'refusedEvents' | 'refusedReasons'>[],
) {
  const refused = outputs.reduce((n, o) => n + (o.refused ?? 0), 0);
  if (refused === 0) return { refused };
  const events = outputs.flatMap((o) => o.refusedEvents ?? []);
  if (bugEnabled('repair-lists-ten-refusals-per-item'))
    return { refused, refusedEvents: events.slice(0, MAX_REFUSALS_REPORTED) };
  const refusedEvents = events.slice(0, MAX_REFUSALS_PER_ITEM);
  const listed = new Set(refusedEvents.map((e) => e.reason));
  const refusedReasons = [...reasonsOf(outputs)]
    .filter((reason) => !listed.has(reason))
    .sort()
    .slice(0, MAX_REASONS_PER_ITEM);
  return { refused, refusedEvents, ...(refusedReasons.length > 0 ? { refusedReasons } : {}) };
}

/** Every reason outputs name: their listed events' and their other reasons. */
function reasonsOf(outputs: readonly Pick<IterationOutput, 'refusedEvents' | 'refusedReasons'>[]) {
  return new Set(
    outputs.flatMap((o) => [...(o.refusedEvents ?? []).map((e) => e.reason), ...(o.refusedReasons ?? [])]),
  );
}

/**
 * A Map item: one partition (`{ partition, peers }`, up to REPAIR_MAX_ITEMS partitions), or a group, named by
 * its first partition and either the listed partitions (an asked list) or the range `from..to` (inclusive:
 * every partition in it is checked, an empty one costs one index query per region).
 */
interface RepairItem {
  readonly partition: number;
  readonly peers: readonly string[];
  readonly partitions?: readonly number[];
  readonly from?: number;
  readonly to?: number;
}

/** The items of a list of partitions (sorted), REPAIR_MAX_ITEMS at most. */
export function repairItems(
  listed: readonly number[],
  peers: readonly string[],
  asked: boolean,
): RepairItem[] {
  if (listed.length <= REPAIR_MAX_ITEMS || bugEnabled('repair-item-per-partition'))
    return listed.map((partition) => ({ partition, peers }));
  const size = Math.ceil(listed.length / REPAIR_MAX_ITEMS);
  const items: RepairItem[] = [];
  for (let i = 0; i < listed.length; i += size) {
    const slice = listed.slice(i, i + size);
    const first = slice[0]!;
    items.push(
      asked
        ? { partition: first, partitions: slice, peers }
        : { partition: first, from: first, to: slice[slice.length - 1]!, peers },
    );
  }
  return items;
}

/** A partition of a group whose task failed, as the Map's Catch reports one partition. */
interface GroupFailure {
  readonly partition: number;
  readonly error: string;
}

function groupFailure(partition: number, error: unknown): GroupFailure {
  return { partition, error: error instanceof Error ? error.name : 'Error' };
}

/** The partitions of a Map item (the iteration's input). */
function partitionsOfItem(raw: Record<string, unknown>): number[] {
  if (Array.isArray(raw.partitions)) return (raw.partitions as unknown[]).map(Number);
  if (typeof raw.from === 'number' && typeof raw.to === 'number')
    return Array.from({ length: raw.to - raw.from + 1 }, (_, i) => (raw.from as number) + i);
  return [Number(raw.partition)];
}

/** One Map iteration's output: the Replay result, or `{ partition, error }` from the machine's Catch. */
interface IterationOutput {
  readonly partition: number;
  /** A group's: how many partitions it checked, and how many of them differed. */
  readonly partitions?: number;
  readonly partitionsDiffering?: number;
  /** A group's partitions that failed (the first MAX_FAILED_LISTED), and how many. */
  readonly failed?: readonly GroupFailure[];
  readonly failedCount?: number;
  readonly buckets?: number;
  readonly replayed?: number;
  readonly forksSettled?: number;
  readonly queued?: number;
  readonly rowsRebuilt?: number;
  /** Events direct delivery refused (exact), the first MAX_REFUSALS_PER_ITEM, the others' distinct reasons. */
  readonly refused?: number;
  readonly refusedEvents?: readonly ListedRefusal[];
  readonly refusedReasons?: readonly string[];
  readonly error?: { Error?: string; Cause?: string };
}

/** What ListPartitions did once per execution besides listing (the queues and the publish holds). */
interface ListedOutput {
  readonly startedAt: number;
  readonly partitions?: RepairItem[];
  readonly conflictsRecreated?: number;
  readonly conflictsResolved?: number;
  readonly holdsReleased?: number;
  readonly holdsKept?: number;
  readonly holdsKeptIds?: readonly string[];
  readonly holdsUnanswered?: readonly string[];
}

/**
 * The Repair runbook's tasks: ListPartitions -> (per partition) BuildTrees -> Diff -> Replay -> Report.
 * Every task is idempotent, so a failed execution can be redriven or simply started again.
 */
export function repairTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  const cellsOf = (peers: readonly string[]) => peers.map((r) => deps.cell(r));
  const now = deps.now ?? Date.now;
  return {
    async ListPartitions(raw) {
      const input = new TaskInput('repair', 'ListPartitions', raw);
      const peers = input.regions('peers') ?? regionNames(deps.topology);
      const regions = [...new Set([deps.region, ...peers])];
      const listed = await partitionsToCheck({
        asked: input.partitions(),
        cells: cellsOf(regions),
        configured: deps.topology.partitions,
      });
      const partitions = repairItems(listed, regions, input.partitions() !== undefined);
      // Once per execution: the queues are not in the Merkle trees (see recreateOpenConflicts).
      const queues = await recreateOpenConflicts(cellsOf(regions), regions);
      // Holds restored with a region's tables (see releasePublishedHolds): Repair is the restore's step.
      // Released only once every region of the topology holds the event (one outside this run included).
      const holds = await releasePublishedHolds({
        cells: cellsOf(regions),
        into: regions,
        partitions: listed,
        everyRegion: regionNames(deps.topology),
        cellOf: (region) => deps.cell(region),
        ...(deps.holdCallTimeoutMs ? { callTimeoutMs: deps.holdCallTimeoutMs } : {}),
      });
      return {
        partitions,
        regions,
        conflictsRecreated: queues.created,
        conflictsResolved: queues.resolved,
        holdsReleased: holds.released,
        holdsKept: holds.kept,
        holdsKeptIds: holds.keptIds,
        holdsUnanswered: holds.unanswered,
        startedAt: now(),
      };
    },
    async BuildTrees(raw) {
      const input = new TaskInput('repair', 'BuildTrees', raw);
      const cells = cellsOf(input.regions('peers') ?? []);
      const partitions = partitionsOfItem(raw);
      if (partitions.length === 1)
        return { ...(await timedStage('buildTrees', () => buildTrees(cells, partitions[0]!))) };
      // A group: one partition after the other; only the trees whose roots differ are kept, and a partition
      // that fails is reported without stopping the others (as the Map's Catch does for one partition).
      const group: PartitionTrees[] = [];
      const failed: GroupFailure[] = [];
      for (const partition of partitions) {
        try {
          const trees = await timedStage('buildTrees', () => buildTrees(cells, partition));
          if (trees.buckets) group.push(trees);
        } catch (error) {
          failed.push(groupFailure(partition, error));
        }
      }
      return { partition: partitions[0]!, partitions: partitions.length, group, failed };
    },
    async Diff(raw) {
      const input = new TaskInput('repair', 'Diff', raw);
      const trees = input.result<
        PartitionTrees & { group?: PartitionTrees[]; partitions?: number; failed?: GroupFailure[] }
      >('buildTrees');
      const diffOf = (t: PartitionTrees) => timedStage('diff', async () => differingBuckets(t));
      if (!trees.group) return { partition: trees.partition, differing: await diffOf(trees) };
      const group = [];
      for (const t of trees.group) group.push({ partition: t.partition, differing: await diffOf(t) });
      return { partition: trees.partition, partitions: trees.partitions, group, failed: trees.failed ?? [] };
    },
    async Replay(raw) {
      const input = new TaskInput('repair', 'Replay', raw);
      const diff = input.result<{
        partition: number;
        differing?: number[];
        partitions?: number;
        group?: Array<{ partition: number; differing: number[] }>;
        failed?: GroupFailure[];
      }>('diff');
      const cells = cellsOf(input.regions('peers') ?? []);
      const replayOne = async (partition: number, differing: number[]) => {
        const report = await replayBuckets({
          partition,
          cells,
          differing,
          ...quorumOrphanRule(deps),
          branches: branchRules(deps),
        });
        const replayed = Object.values(report.replayed).reduce((a, b) => a + b, 0);
        const { forksSettled, queued, rowsRebuilt } = report;
        // The first refusal and the distinct reasons; the count is exact (the execution state stays small).
        return {
          partition,
          buckets: differing.length,
          replayed,
          forksSettled,
          queued,
          rowsRebuilt,
          ...refusalsOfItem(report.refused),
        };
      };
      if (!diff.group) return replayOne(diff.partition, diff.differing ?? []);
      // A group: one output of sums, as small as a single partition's.
      const outputs: Array<Awaited<ReturnType<typeof replayOne>>> = [];
      const failed = [...(diff.failed ?? [])];
      for (const { partition, differing } of diff.group) {
        try {
          outputs.push(await replayOne(partition, differing));
        } catch (error) {
          failed.push(groupFailure(partition, error));
        }
      }
      const sum = (field: 'buckets' | 'replayed' | 'forksSettled' | 'queued' | 'rowsRebuilt') =>
        outputs.reduce((n, o) => n + o[field], 0);
      return {
        partition: diff.partition,
        partitions: diff.partitions ?? outputs.length,
        partitionsDiffering: outputs.filter((o) => o.buckets > 0).length,
        buckets: sum('buckets'),
        replayed: sum('replayed'),
        forksSettled: sum('forksSettled'),
        queued: sum('queued'),
        rowsRebuilt: sum('rowsRebuilt'),
        ...refusalsOfGroup(outputs),
        // Counted apart from the partitions checked; at most MAX_FAILED_LISTED named (left out when none).
        ...(failed.length > 0
          ? { failedCount: failed.length, failed: failed.slice(0, MAX_FAILED_LISTED) }
          : {}),
      };
    },
    async Report(raw) {
      const input = new TaskInput('repair', 'Report', raw);
      const outputs = (raw.repairPartitions ?? []) as IterationOutput[];
      const listed = input.result<ListedOutput>('listPartitions');
      const started = Number(listed.startedAt);
      const failed = outputs.filter((o) => o.error);
      // A failed group is named by its first partition: every partition of it counts as failed.
      const sizes = new Map(
        (listed.partitions ?? []).map((item) => [item.partition, partitionsOfItem({ ...item })]),
      );
      const failedItems = failed.flatMap((o) =>
        (sizes.get(o.partition) ?? [o.partition]).map((partition) => ({
          partition,
          error: o.error?.Error ?? 'unknown',
        })),
      );
      // Inside groups: each iteration names at most MAX_FAILED_LISTED of its failed partitions, counts them all.
      const failedInGroups = outputs.reduce((n, o) => n + (o.failedCount ?? 0), 0);
      const failedPartitions = [...failedItems, ...outputs.flatMap((o) => o.failed ?? [])];
      return {
        partitionsChecked: outputs.reduce(
          (n, o) => n + (o.error ? 0 : (o.partitions ?? 1) - (o.failedCount ?? 0)),
          0,
        ),
        partitionsDiffering: outputs.reduce(
          (n, o) => n + (o.partitionsDiffering ?? ((o.buckets ?? 0) > 0 ? 1 : 0)),
          0,
        ),
        bucketsDiffering: outputs.reduce((n, o) => n + (o.buckets ?? 0), 0),
        eventsReplayed: outputs.reduce((n, o) => n + (o.replayed ?? 0), 0),
        forksSettled: outputs.reduce((n, o) => n + (o.forksSettled ?? 0), 0),
        eventsQueued: outputs.reduce((n, o) => n + (o.queued ?? 0), 0),
        rowsRebuilt: outputs.reduce((n, o) => n + (o.rowsRebuilt ?? 0), 0),
        conflictsRecreated: Number(listed.conflictsRecreated ?? 0),
        conflictsResolved: Number(listed.conflictsResolved ?? 0),
        holdsReleased: Number(listed.holdsReleased ?? 0),
        holdsKept: Number(listed.holdsKept ?? 0),
        holdsKeptIds: listed.holdsKeptIds ?? [],
        holdsUnanswered: listed.holdsUnanswered ?? [],
        eventsRefused: outputs.reduce((n, o) => n + (o.refused ?? 0), 0),
        refusedEvents: outputs.flatMap((o) => o.refusedEvents ?? []).slice(0, MAX_REFUSALS_REPORTED),
        refusedReasons: [...reasonsOf(outputs)].sort().slice(0, MAX_REFUSALS_REPORTED),
        // The count is exact; the list names the first MAX_FAILED_LISTED, so the Report is never big enough
        // to be spilled out of the state (readiness and drill reports read it from the execution's output).
        partitionsFailedCount: failedItems.length + failedInGroups,
        partitionsFailed: failedPartitions.slice(0, MAX_FAILED_LISTED),
        durationMs: now() - started,
      };
    },
  };
}
