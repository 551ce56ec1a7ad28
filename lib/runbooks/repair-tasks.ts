import { regionNames } from '../config/topology.ts';
import { recreateOpenConflicts } from './conflict-queues.ts';
import type { RefusedEvent } from './direct-delivery.ts';
import { buildTrees, differingBuckets, type PartitionTrees, replayBuckets } from './heal.ts';
import { branchRules } from './heal-branches.ts';
import { TaskInput } from './input.ts';
import { partitionsToCheck } from './partitions.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import { releasePublishedHolds } from './publish-holds.ts';
import { quorumOrphanRule } from './quorum-orphans.ts';

/** Refused events listed (with their reasons) per partition and in the report; the counts are exact. */
const MAX_REFUSALS_REPORTED = 10;

/** One Map iteration's output: the Replay result, or `{ partition, error }` from the machine's Catch. */
interface IterationOutput {
  readonly partition: number;
  readonly buckets?: number;
  readonly replayed?: number;
  readonly forksSettled?: number;
  readonly queued?: number;
  readonly rowsRebuilt?: number;
  readonly refused?: number;
  readonly refusedEvents?: readonly RefusedEvent[];
  readonly error?: { Error?: string; Cause?: string };
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
      const partitions = listed.map((partition) => ({ partition, peers: regions }));
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
      const partition = Number(raw.partition);
      const trees = await buildTrees(cellsOf(input.regions('peers') ?? []), partition);
      return { ...trees };
    },
    async Diff(raw) {
      const input = new TaskInput('repair', 'Diff', raw);
      const trees = input.result<PartitionTrees>('buildTrees');
      return { partition: trees.partition, differing: differingBuckets(trees) };
    },
    async Replay(raw) {
      const input = new TaskInput('repair', 'Replay', raw);
      const { partition, differing } = input.result<{ partition: number; differing: number[] }>('diff');
      const report = await replayBuckets({
        partition,
        cells: cellsOf(input.regions('peers') ?? []),
        differing,
        ...quorumOrphanRule(deps),
        branches: branchRules(deps),
      });
      const replayed = Object.values(report.replayed).reduce((a, b) => a + b, 0);
      const { forksSettled, queued, rowsRebuilt } = report;
      // The first few refusals with their reasons; the count is exact (the execution state stays small).
      const refusedEvents = report.refused.slice(0, MAX_REFUSALS_REPORTED);
      const refused = report.refused.length;
      return {
        partition,
        buckets: differing.length,
        replayed,
        forksSettled,
        queued,
        rowsRebuilt,
        refused,
        refusedEvents,
      };
    },
    async Report(raw) {
      const input = new TaskInput('repair', 'Report', raw);
      const outputs = (raw.repairPartitions ?? []) as IterationOutput[];
      const listed = input.result<{
        startedAt: number;
        conflictsRecreated?: number;
        conflictsResolved?: number;
        holdsReleased?: number;
        holdsKept?: number;
        holdsKeptIds?: readonly string[];
        holdsUnanswered?: readonly string[];
      }>('listPartitions');
      const started = Number(listed.startedAt);
      const failed = outputs.filter((o) => o.error);
      return {
        partitionsChecked: outputs.length - failed.length,
        partitionsDiffering: outputs.filter((o) => (o.buckets ?? 0) > 0).length,
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
        partitionsFailed: failed.map((o) => ({ partition: o.partition, error: o.error?.Error ?? 'unknown' })),
        durationMs: now() - started,
      };
    },
  };
}
