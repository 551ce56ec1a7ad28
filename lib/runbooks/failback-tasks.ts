import { regionNames } from '../config/topology.ts';
import { groupBy } from '../model/group-by.ts';
import { replayOrder } from '../repair/repair.ts';
import { settleCoreAggregate } from './core-branches.ts';
import { type CoreOrphanOutcome, settleCoreOrphans } from './core-orphans.ts';
import { closeFailoverRecord, readFailoverRecord } from './failover-record.ts';
import { findForkedAggregates, healPartition } from './heal.ts';
import { branchRules, ownerIn, splitKey } from './heal-branches.ts';
import { mapBounded, TaskInput } from './input.ts';
import { findOrphans, type Orphan } from './orphans.ts';
import { partitionsToCheck } from './partitions.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import { quorumOrphanRule } from './quorum-orphans.ts';
import { switchoverTasks } from './switchover-tasks.ts';

/**
 * The Failback runbook's tasks: CatchUp (forked core aggregates left for QueueCoreOrphans) -> FindOrphans
 * -> ReconcileImportant -> QueueCoreOrphans (every region onto the home's branch) ->
 * [SwitchBackFence -> SwitchBackCheckWatermark (polled) -> SwitchBackMoveHome -> SwitchBackUnfence, or
 * SwitchBackRollback] -> Undrain. The returning region stays drained (no users) until Undrain.
 */
export function failbackTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 8;
  const setup = (task: string, raw: Record<string, unknown>) => {
    const input = new TaskInput('failback', task, raw);
    const region = input.string('region');
    const returning = deps.cell(region);
    const peers = regionNames(deps.topology)
      .filter((r) => r !== region)
      .map((p) => deps.cell(p));
    // Listing partitions costs a pass over every region's index: only the tasks that walk them ask.
    const partitions = () =>
      partitionsToCheck({
        asked: input.partitions(),
        cells: [returning, ...peers],
        configured: deps.topology.partitions,
      });
    return { input, region, partitions, returning, peers };
  };
  const orphansOf = async (task: string, raw: Record<string, unknown>) => {
    const { returning, peers, partitions } = setup(task, raw);
    return findOrphans({ returning, peers, partitions: await partitions(), concurrency });
  };
  const tierOf = (o: Orphan) => deps.registry.get(o.event.aggregateType).tier;
  return {
    async CatchUp(raw) {
      const { region, partitions, returning, peers } = setup('CatchUp', raw);
      const started = now();
      const record = await readFailoverRecord(deps.register, region);
      const reports = await mapBounded(await partitions(), concurrency, (partition) =>
        healPartition({
          partition,
          cells: [returning, ...peers],
          into: [region],
          ...quorumOrphanRule(deps),
          branches: branchRules(deps),
          forks: 'defer',
        }),
      );
      const eventsReplayed = reports.reduce((n, r) => n + (r.replayed[region] ?? 0), 0);
      return {
        partitionsChecked: reports.length,
        partitionsBehind: reports.filter((r) => r.bucketsDiffering > 0).length,
        eventsReplayed,
        forksDeferred: reports.reduce((n, r) => n + r.forksDeferred, 0),
        rowsRebuilt: reports.reduce((n, r) => n + r.rowsRebuilt, 0),
        failedOverAt: record?.failedOverAt ?? null,
        durationMs: now() - started,
      };
    },
    async FindOrphans(raw) {
      const orphans = await orphansOf('FindOrphans', raw);
      const byTier: Record<string, number> = { core: 0, important: 0, ordinary: 0 };
      for (const o of orphans) byTier[tierOf(o)] = (byTier[tierOf(o)] ?? 0) + 1;
      return {
        count: orphans.length,
        byTier,
        sample: orphans
          .slice(0, 20)
          .map((o) => ({ eventId: o.event.eventId, type: o.event.aggregateType, missingAt: o.missingAt })),
      };
    },
    async ReconcileImportant(raw) {
      const orphans = (await orphansOf('ReconcileImportant', raw)).filter((o) => tierOf(o) !== 'core');
      let merged = 0;
      for (const peer of regionNames(deps.topology)) {
        const events = orphans.filter((o) => o.missingAt.includes(peer)).map((o) => o.event);
        if (events.length === 0) continue;
        await deps.cell(peer).replay(events.sort(replayOrder));
        merged += events.length;
      }
      return { merged };
    },
    async QueueCoreOrphans(raw) {
      const { returning, peers, partitions } = setup('QueueCoreOrphans', raw);
      const cells = [returning, ...peers];
      const orphans = (await orphansOf('QueueCoreOrphans', raw)).filter((o) => tierOf(o) === 'core');
      const byAggregate = groupBy(orphans, (o) => `${o.event.aggregateType}#${o.event.aggregateId}`);
      const ownerOf = async (partition: number) => ownerIn(await deps.map.read(partition));
      const outcomes: CoreOrphanOutcome[] = [];
      for (const group of byAggregate.values()) {
        const { event } = group[0]!;
        outcomes.push(
          ...(await settleCoreOrphans({
            orphans: group,
            aggregate: deps.registry.get(event.aggregateType),
            cells,
            ...(await ownerOf(event.partition)),
          })),
        );
      }
      // Forks CatchUp left alone that hold no orphan of this region (two peers on two branches).
      let branchesSettled = 0;
      let retired = 0;
      const forks = await mapBounded(await partitions(), concurrency, async (partition) =>
        (await findForkedAggregates(cells, partition)).map((key) => ({ key, partition })),
      );
      for (const { key, partition } of forks.flat()) {
        if (byAggregate.has(key)) continue;
        const { type, id } = splitKey(key);
        const aggregate = deps.registry.get(type);
        const settled = await settleCoreAggregate({
          aggregate,
          aggregateId: id,
          cells,
          ...(await ownerOf(partition)),
        });
        branchesSettled++;
        retired += settled.queued.length;
      }
      return {
        adopted: outcomes.filter((o) => o.outcome === 'adopted').length,
        queued: outcomes.filter((o) => o.outcome === 'queued'),
        branchesSettled,
        retired,
      };
    },
    ...switchBackTasks(deps),
    async Undrain(raw) {
      const { region } = setup('Undrain', raw);
      await deps.setTraffic(region, 'active', 'failback');
      const record = await closeFailoverRecord(deps.register, region, now());
      return { region, traffic: 'active', failoverClosed: record !== null };
    },
  };
}

/**
 * Switch-back = a Switchover of the partitions the failover record moved away, back to the returning
 * region: the Switchover tasks themselves, with the returning region as `to` and this machine's
 * `$.switchBackFence` as their `$.fence`. So a partition moves home only once the returning region holds
 * every event its current home has (else the machine times out and rolls back), with RPO 0.
 */
function switchBackTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  // The switch-back's CheckWatermark keeps polling the logs (the pipeline and Failback's CatchUp bring
  // what is missing): no direct delivery, no row comparison (the Switchover's own shortcut).
  const switchover = switchoverTasks(deps, { direct: false });
  const now = deps.now ?? Date.now;
  /** The recorded moves' partitions (only those of `partitions` when the input names some). */
  const recorded = async (task: string, raw: Record<string, unknown>) => {
    const input = new TaskInput('failback', task, raw);
    const region = input.string('region');
    const record = await readFailoverRecord(deps.register, region);
    const asked = input.partitions();
    const partitions = [...new Set((record?.moves ?? []).map((m) => m.partition))]
      .filter((p) => !asked || asked.includes(p))
      .sort((a, b) => a - b);
    return { to: region, partitions };
  };
  // The switch-back's own keys stand in for the Switchover's: its fence and its run id.
  const withFence = (raw: Record<string, unknown>) => ({
    ...raw,
    to: raw.region,
    fence: raw.switchBackFence,
    run: raw.switchBackRun,
    checkWatermark: raw.switchBackCheckWatermark,
  });
  return {
    async SwitchBackFence(raw) {
      const request = await recorded('SwitchBackFence', raw);
      if (request.partitions.length === 0) return { moves: [], skipped: [], fencedAt: now() };
      return switchover.Fence!({ ...request, run: raw.switchBackRun });
    },
    SwitchBackCheckWatermark: (raw) => switchover.CheckWatermark!(withFence(raw)),
    SwitchBackMoveHome: (raw) => switchover.MoveHome!(withFence(raw)),
    SwitchBackUnfence: (raw) => switchover.Unfence!(withFence(raw)),
    SwitchBackCheckOtherTiers: (raw) => switchover.CheckOtherTiers!(withFence(raw)),
    async SwitchBackRollback(raw) {
      if (raw.switchBackFence === undefined) {
        // The fence failed part-way: Rollback unfences whatever of the recorded partitions it fenced.
        return switchover.Rollback!({
          ...withFence(raw),
          ...(await recorded('SwitchBackRollback', raw)),
        });
      }
      const moves = (raw.switchBackFence as { moves?: Array<{ partition: number }> }).moves ?? [];
      return switchover.Rollback!({ ...withFence(raw), partitions: moves.map((m) => m.partition) });
    },
  };
}
