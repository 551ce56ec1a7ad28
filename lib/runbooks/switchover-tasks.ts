import { ulid } from 'ulid';
import { EntryChangedError } from '../ownership/errors.ts';
import { partitionOf } from '../ownership/partition.ts';
import {
  changedBy,
  fencePartition,
  movePartitionHome,
  takeOverFence,
  unfencePartition,
} from '../ownership/rehome.ts';
import { ProbeFailedError, RollbackRefusedError, SwitchoverStateError } from './errors.ts';
import { mapBounded, TaskInput } from './input.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import {
  aggregatesIn,
  blockingMissing,
  fenceSeenBy,
  requestedPartitions,
  rowDigest,
  type SwitchoverMove,
  switchoverRequest,
  whySkip,
} from './switchover-plan.ts';
import { type RollbackMove, type RollbackOutcome, rollbackMove } from './switchover-rollback.ts';

/**
 * The execution's run id: `$.run.id` (the machine's first state draws it, States.UUID()), else the one
 * Fence drew (`$.fence.runId`, for callers that run the tasks without the machine).
 */
function runOf(raw: Record<string, unknown>): string | undefined {
  const fromMachine = (raw.run as { id?: unknown } | undefined)?.id;
  const fromFence = (raw.fence as { runId?: unknown } | undefined)?.runId;
  const id = fromMachine ?? fromFence;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** Runs a step that changes only this execution's entries; someone else's change fails the task. */
async function ownStep<T>(task: string, partition: number, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof EntryChangedError)) throw error;
    throw new SwitchoverStateError(task, partition, error.message);
  }
}

/**
 * The Switchover runbook's tasks: Fence -> CheckWatermark (polled by the machine) -> MoveHome -> Unfence
 * -> VerifyProbe, or Rollback. RPO 0: once fenced, the source refuses core writes (its local ConditionCheck
 * fails as soon as its copy of the entry carries the fence; a lease it still holds runs out within
 * `leaseMs`), and the home moves only when the target holds every event of the partition the source has.
 * Important and ordinary writes are not homed: they go on in every region throughout.
 * Every change carries the execution's run id (PartitionValue.run): MoveHome, Unfence and Rollback touch a
 * partition only while its entry is still the one this execution wrote (see `rollbackMove`).
 */
export function switchoverTasks(deps: RunbookDeps): Record<string, RunbookTask> {
  const now = deps.now ?? Date.now;
  const concurrency = deps.concurrency ?? 16;
  const requiredRun = (task: string, raw: Record<string, unknown>) =>
    runOf(raw) ?? new TaskInput('switchover', task, raw).string('run.id');
  const movesOf = (task: string, raw: Record<string, unknown>) =>
    new TaskInput('switchover', task, raw).result<{ moves: SwitchoverMove[] }>('fence').moves;
  return {
    async Fence(raw) {
      const request = switchoverRequest('Fence', raw);
      const runId = runOf(raw) ?? ulid();
      // Run ids of dead executions whose fences this one may take over (`"takeOver": ["<$.run.id>"]`).
      const takeOver = Array.isArray(raw.takeOver) ? raw.takeOver.filter((r) => typeof r === 'string') : [];
      const partitions = await requestedPartitions(deps, request);
      const skipped: Array<{ partition: number; why: string }> = [];
      const fenced = await mapBounded(partitions, concurrency, async (partition) => {
        const entry = await deps.map.read(partition);
        const why = whySkip(entry, request, { runId, takeOver });
        if (why || !entry) return void skipped.push({ partition, why: why ?? 'no home yet' });
        const after =
          entry.state === 'fenced' && !changedBy(entry, runId)
            ? await takeOverFence(deps.map, partition, { previous: entry.run!, run: runId })
            : await fencePartition(deps.map, partition, 'rehome', runId);
        return { partition, from: entry.home, to: request.to, fencedEpoch: after.epoch };
      });
      const moves = fenced.filter((m): m is SwitchoverMove => m !== undefined);
      return { moves, skipped, fencedAt: now(), runId };
    },
    async CheckWatermark(raw) {
      const moves = movesOf('CheckWatermark', raw);
      const fencedAt = Number(
        new TaskInput('switchover', 'CheckWatermark', raw).result<{ fencedAt: number }>('fence').fencedAt,
      );
      const leaseOver = now() >= fencedAt + deps.map.leaseMs + deps.map.skewMarginMs;
      const partitions = await mapBounded(moves, concurrency, async (move) => {
        if (move.from === move.to) return { partition: move.partition, missing: 0, sourceFenced: true };
        const source = deps.cell(move.from);
        // Fence first, then the logs: once the source's copy carries the fence no core append can commit
        // there, so a log read after it sees the source's last event. (The partition index is eventually
        // consistent on AWS; the machine's first poll comes a 5 s Wait after the fence.)
        const seen = leaseOver || (await fenceSeenBy(source, move.partition, move.fencedEpoch));
        if (!seen) return { partition: move.partition, missing: null, sourceFenced: false };
        const missing = await blockingMissing(
          deps,
          { source, target: deps.cell(move.to), partition: move.partition },
          { fencedAt, skewMarginMs: deps.map.skewMarginMs },
        );
        return { partition: move.partition, missing, sourceFenced: true };
      });
      const caughtUp = partitions.every((p) => p.missing === 0 && p.sourceFenced);
      return { caughtUp, partitions, checkedAt: now() };
    },
    async MoveHome(raw) {
      const moves = movesOf('MoveHome', raw);
      const run = requiredRun('MoveHome', raw);
      const moved = await mapBounded(moves, concurrency, async (move) => {
        const after = await ownStep('MoveHome', move.partition, () =>
          movePartitionHome(deps.map, move.partition, move.to, run),
        );
        return { partition: move.partition, home: after.home, epoch: after.epoch };
      });
      return { moved };
    },
    async Unfence(raw) {
      const moves = movesOf('Unfence', raw);
      const run = requiredRun('Unfence', raw);
      const active = await mapBounded(moves, concurrency, async (move) => {
        const after = await ownStep('Unfence', move.partition, () =>
          unfencePartition(deps.map, move.partition, run),
        );
        return {
          partition: move.partition,
          home: after.home,
          epoch: after.epoch,
          activeFrom: after.activeFrom,
        };
      });
      return { active, writableFrom: Math.max(0, ...active.map((a) => a.activeFrom)) };
    },
    async VerifyProbe(raw) {
      const moves = movesOf('VerifyProbe', raw);
      const probed = await mapBounded(moves, concurrency, async (move) => {
        const entry = await deps.map.read(move.partition);
        if (entry?.home !== move.to || entry.state !== 'active')
          throw new ProbeFailedError(move.partition, `the map says ${entry?.home}/${entry?.state}`);
        const [source, target] = [deps.cell(move.from), deps.cell(move.to)];
        const aggregates = await aggregatesIn(source, move.partition);
        for (const [type, id] of aggregates) {
          // Core only: the fence quiesced them; important/ordinary rows may be mid-replication, rightly.
          if (partitionOf(id, deps.topology.partitions) !== move.partition) continue;
          if (!deps.registry.has(type) || deps.registry.get(type).tier !== 'core') continue;
          const [a, b] = await Promise.all([
            source.states.getState(type, id),
            target.states.getState(type, id),
          ]);
          if (rowDigest(a) !== rowDigest(b))
            throw new ProbeFailedError(
              move.partition,
              `${type}/${id} differs between ${move.from} and ${move.to}`,
            );
        }
        return { partition: move.partition, aggregatesInPartition: aggregates.length };
      });
      return { probed };
    },
    async Rollback(raw) {
      const fence = raw.fence as { moves?: SwitchoverMove[] } | undefined;
      const request = switchoverRequest('Rollback', raw);
      // Fence may have failed part-way (no $.fence): whatever it fenced is still with its old home.
      const moves: readonly RollbackMove[] =
        fence?.moves ??
        (await requestedPartitions(deps, request)).map((partition) => ({ partition, from: null }));
      const run = runOf(raw);
      const outcomes = await mapBounded(moves, concurrency, (move) => rollbackMove(deps, run, move));
      const refused = outcomes.filter(
        (o): o is Extract<RollbackOutcome, { why: string }> => o.outcome === 'refused',
      );
      if (refused.length > 0) throw new RollbackRefusedError('switchover', 'Rollback', refused);
      return {
        restored: outcomes.filter((o) => o.outcome === 'restored'),
        leftAlone: outcomes.filter((o) => o.outcome === 'left-alone'),
      };
    },
  };
}
