import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { regionNames } from '../config/topology.ts';
import type { PartitionEntry } from '../ownership/partition-map.ts';
import { collectCopies, cutNewHomes } from './collect-copies.ts';
import {
  chooseNewHomes,
  confirmLoss,
  type LossConfirmation,
  type LossVote,
  type PlannedMove,
  voteOn,
} from './decisions.ts';
import { openFailoverRecordOnceGathered } from './failover-record.ts';
import { TaskInput } from './input.ts';
import {
  activatePartitions,
  type BeforeRehome,
  type FencedMove,
  fencePartitions,
} from './partition-moves.ts';
import type { RegionCell, RunbookDeps, RunbookTask } from './ports.ts';

export { movePartition, movePartitions } from './partition-moves.ts';

/** Partition numbers that have an entry in a region's control table (its local copy of the map). */
async function partitionsIn(cell: RegionCell): Promise<number[]> {
  const found: number[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await cell.tables.client.send(
      new ScanCommand({
        TableName: cell.tables.control,
        ProjectionExpression: 'pk',
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': 'PARTITION#' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) found.push(Number(String(item.pk).slice('PARTITION#'.length)));
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

/**
 * Every partition's committed entry. A committed entry sits on a majority of control tables, and any two
 * majorities intersect, so the keys found in the tables of a majority of regions cover every committed
 * partition: only those are read through the quorum (a few instead of all `topology.partitions`).
 * One round when the replicas scan (`PartitionMap.readAll`: each replica's scan is its answer for every
 * key it holds, decided per key like a batch read); else two, the keys first, then a batch read of them.
 */
export async function readAllEntries(
  deps: RunbookDeps,
  reachable?: readonly string[],
): Promise<PartitionEntry[]> {
  const scanned = await deps.map.readAll();
  if (scanned) return scanned;
  const regions = reachable ?? regionNames(deps.topology);
  const lists = await Promise.all(regions.map((r) => partitionsIn(deps.cell(r)).catch(() => null)));
  const answered = lists.filter((l): l is number[] => l !== null);
  const all =
    answered.length >= Math.floor(deps.topology.regions.length / 2) + 1
      ? [...new Set(answered.flat())].sort((a, b) => a - b)
      : Array.from({ length: deps.topology.partitions }, (_, i) => i);
  const entries = await deps.map.readMany(all);
  return [...entries.values()].filter((e): e is PartitionEntry => e !== null);
}

/**
 * The Failover runbook's tasks: ConfirmRegionLost -> ChooseNewHomes -> FencePartitions -> CollectCopies ->
 * BumpEpochs -> DrainRegion -> RecordWatermarks. Each is idempotent: a second run confirms again, finishes
 * what a crashed run left fenced, and otherwise changes nothing.
 */
export function failoverTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  const now = deps.now ?? Date.now;
  const stale = deps.staleHeartbeatMs ?? 3 * deps.topology.thresholds.heartbeatIntervalMs;
  return {
    async ConfirmRegionLost(raw) {
      const lost = new TaskInput('failover', 'ConfirmRegionLost', raw).string('region');
      const regions = regionNames(deps.topology);
      const voters = regions.filter((r) => r !== lost);
      const votes: Record<string, LossVote> = {};
      await Promise.all(
        voters.map(async (voter) => {
          try {
            votes[voter] = voteOn(await deps.observe(voter, lost), stale);
          } catch {
            votes[voter] = 'no-answer';
          }
        }),
      );
      const confirmation: LossConfirmation = confirmLoss(lost, regions, votes);
      return { ...confirmation, checkedAt: now() };
    },
    async ChooseNewHomes(raw) {
      const input = new TaskInput('failover', 'ChooseNewHomes', raw);
      const lost = input.string('region');
      const { votes } = input.result<LossConfirmation>('confirmRegionLost');
      const survivors = Object.entries(votes)
        .filter(([, vote]) => vote !== 'no-answer')
        .map(([region]) => region);
      const entries = await readAllEntries(deps, survivors);
      const observed = entries.filter((e) => e.home === lost);
      const homedThere = observed.map((e) => e.partition);
      const allowed = raw.residency as Record<string, string[]> | undefined;
      const moves = chooseNewHomes({
        topology: deps.topology,
        lost,
        partitions: homedThere,
        survivors,
        ...(allowed ? { allowed } : {}),
      });
      // The entries as read here: BumpEpochs proposes its changes over them (compare-and-set).
      return { moves, partitionsScanned: entries.length, observed };
    },
    async FencePartitions(raw) {
      const input = new TaskInput('failover', 'FencePartitions', raw);
      const { moves, observed } = input.result<{ moves: PlannedMove[]; observed?: unknown[] }>(
        'chooseNewHomes',
      );
      // The fence alone (epoch + 1): the lost home can no longer append, nor get a quorum copy from a
      // survivor CollectCopies seals; the partitions are activated only once their copies are collected.
      const { fenced, skipped } = await fencePartitions(deps, moves, observed ?? []);
      return { fenced, skipped };
    },
    async CollectCopies(raw) {
      const input = new TaskInput('failover', 'CollectCopies', raw);
      const lost = input.string('region');
      const { fenced } = input.result<{ fenced: FencedMove[] }>('fencePartitions');
      return { ...(await collectCopies(deps, { lost, fenced })) };
    },
    async BumpEpochs(raw) {
      const input = new TaskInput('failover', 'BumpEpochs', raw);
      const lost = input.string('region');
      const { moves } = input.result<{ moves: PlannedMove[] }>('chooseNewHomes');
      const { fenced } = input.result<{ fenced: FencedMove[] }>('fencePartitions');
      const { blocked } = input.result<{ blocked: Array<{ partition: number }> }>('collectCopies');
      // A partition whose entry changed since the fence is fenced, collected and moved on its own.
      const refenced: FencedMove[] = [];
      const beforeRehome: BeforeRehome = async (again) => {
        refenced.push(...again);
        const report = await collectCopies(deps, { lost, fenced: again });
        return new Set(report.blocked.map((b) => b.partition));
      };
      const done = await activatePartitions(deps, {
        moves,
        fenced,
        blocked: new Set(blocked.map((b) => b.partition)),
        beforeRehome,
      });
      const moved = done.flatMap((entry) =>
        entry
          ? [
              {
                partition: entry.partition,
                home: entry.home,
                epoch: entry.epoch,
                activeFrom: entry.activeFrom,
              },
            ]
          : [],
      );
      const activeFrom = Math.max(0, ...moved.map((m) => m.activeFrom));
      // local ack: the new homes' cuts, once they are the homes (see cutNewHomes, review-finding-3).
      const newHomeCuts = await cutNewHomes(deps, { lost, fenced: [...fenced, ...refenced] });
      return {
        ...(newHomeCuts ? { newHomeCuts } : {}),
        moved,
        skipped: moves.length - moved.length,
        fenced: blocked.map((b) => b.partition),
        writableFrom: activeFrom,
      };
    },
    async DrainRegion(raw) {
      const lost = new TaskInput('failover', 'DrainRegion', raw).string('region');
      await deps.setTraffic(lost, 'drained', 'failover');
      return { region: lost, traffic: 'drained' };
    },
    async RecordWatermarks(raw) {
      const input = new TaskInput('failover', 'RecordWatermarks', raw);
      const lost = input.string('region');
      const { moves } = input.result<{ moves: PlannedMove[] }>('chooseNewHomes');
      const survivors = regionNames(deps.topology).filter((r) => r !== lost);
      const gathering = (async () => {
        const watermarks: Record<string, string | null> = {};
        await Promise.all(
          survivors.map(async (region) => {
            const list = await deps.cell(region).watermarks();
            watermarks[region] = list.find((w) => w.origin === lost)?.hlc ?? null;
          }),
        );
        return {
          region: lost,
          trigger: typeof raw.trigger === 'string' ? raw.trigger : 'operator',
          failedOverAt: now(),
          moves,
          watermarks,
        };
      })();
      // The watermarks and the quorum read of an earlier record at once: one WAN round trip, not two.
      const record = await openFailoverRecordOnceGathered(deps.register, lost, gathering);
      return { record };
    },
  };
}
