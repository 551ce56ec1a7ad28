import { bugEnabled } from '../faults/switches.ts';
import { EntryChangedError, EpochConflictError } from '../ownership/errors.ts';
import type { PartitionEntry } from '../ownership/partition-map.ts';
import {
  changedBy,
  fenceEntry,
  movePartitionHome,
  restorePartition,
  unfencePartition,
} from '../ownership/rehome.ts';
import { coreEventsLacking, isCoreKey } from './core-lacking.ts';
import type { RunbookDeps } from './ports.ts';

/** A partition a re-homing execution may have changed; `from` is null when its Fence result is lost. */
export interface RollbackMove {
  readonly partition: number;
  readonly from: string | null;
}

/** What Rollback did with one partition. */
export type RollbackOutcome =
  | {
      readonly outcome: 'restored';
      readonly partition: number;
      readonly home: string;
      readonly epoch: number;
      readonly activeFrom: number;
    }
  | {
      readonly outcome: 'left-alone' | 'refused';
      readonly partition: number;
      readonly home: string | null;
      readonly state: string | null;
      readonly epoch: number | null;
      readonly why: string;
    };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function restored(entry: PartitionEntry): RollbackOutcome {
  const { partition, home, epoch, activeFrom } = entry;
  return { outcome: 'restored', partition, home, epoch, activeFrom };
}

function unchanged(
  outcome: 'left-alone' | 'refused',
  partition: number,
  entry: PartitionEntry | null,
  why: string,
): RollbackOutcome {
  return {
    outcome,
    partition,
    home: entry?.home ?? null,
    state: entry?.state ?? null,
    epoch: entry?.epoch ?? null,
    why,
  };
}

/**
 * Whether `from` may take the partition back from `to`: it must answer, and hold every core event of the
 * partition that `to` holds (`to` may have acknowledged writes since it was unfenced), compared by strongly
 * consistent reads (`coreEventsLacking`). Returns the reason when it may not.
 */
async function whyNotBack(
  deps: RunbookDeps,
  move: { partition: number; from: string; to: string },
): Promise<string | null> {
  const { partition, from, to } = move;
  const seen = await deps.observe(deps.region, from).catch(() => ({ reachable: false }));
  if (!seen.reachable) return `${from} is unreachable`;
  try {
    const [holder, other] = [deps.cell(to), deps.cell(from)];
    const lacking = bugEnabled('index-trusting-watermark')
      ? await lackingByIndex(deps, move)
      : await coreEventsLacking(
          deps,
          { holder, other, partition },
          await holder.source.listLeaves(partition),
        );
    if (lacking.length === 0) return null;
    return `${to} holds ${lacking.length} core event(s) of partition ${partition} that ${from} lacks (e.g. ${lacking[0]!})`;
  } catch (error) {
    return `cannot compare ${to} with ${from}: ${(error as Error).message}`;
  }
}

/** The `index-trusting-watermark` bug: core events `to` lists and `from` does not, by the index. */
async function lackingByIndex(
  deps: RunbookDeps,
  move: { partition: number; from: string; to: string },
): Promise<string[]> {
  const [held, holds] = await Promise.all([
    deps.cell(move.to).source.listLeaves(move.partition),
    deps.cell(move.from).source.listLeaves(move.partition),
  ]);
  const there = new Set(holds.map((leaf) => leaf.eventId));
  return held
    .filter((leaf) => isCoreKey(deps, leaf.aggregateKey) && !there.has(leaf.eventId))
    .map((leaf) => leaf.eventId);
}

/** Refuses: the partition stays with its current home, unfenced if this run had fenced it. */
async function refuse(deps: RunbookDeps, run: string, entry: PartitionEntry, why: string) {
  const kept = entry.state === 'fenced' ? await unfencePartition(deps.map, entry.partition, run) : entry;
  return unchanged('refused', entry.partition, kept, `stays with ${kept.home}: ${why}`);
}

/**
 * Gives a partition this run moved to `to` back to `from`, unless `from` lacks what `to` acknowledged. The
 * fence is a compare-and-set on `entry`, the entry read (this run's, at `to`): an entry that moved on since
 * (another switchover fenced it and moved the home on, a Failover) is left alone (EntryChangedError), and
 * the comparison after the fence is with the home of the entry fenced, which is `entry.home`.
 */
async function moveBack(deps: RunbookDeps, run: string, entry: PartitionEntry, from: string) {
  // Cheap answer first: while `to` is active it may be writing, so this check only ever refuses.
  const early = await whyNotBack(deps, { partition: entry.partition, from, to: entry.home });
  if (early) return refuse(deps, run, entry, early);
  const fenced = await fenceEntry(deps.map, entry, run);
  // Every lease `to` may hold on the unfenced entry runs out before its fence commit + lease + skew margin.
  await delay(deps.map.leaseMs + deps.map.skewMarginMs);
  const to = bugEnabled('rollback-fences-any-active') ? entry.home : fenced.home;
  const late = await whyNotBack(deps, { partition: entry.partition, from, to });
  if (late) return refuse(deps, run, fenced, late);
  await movePartitionHome(deps.map, entry.partition, from, run);
  return restored(await unfencePartition(deps.map, entry.partition, run));
}

/** Attempts of Rollback per partition whose compare-and-set is lost or whose entry changes meanwhile. */
const ROLLBACK_ATTEMPTS = 3;

/**
 * Rolls back one partition of a re-homing execution (Switchover, or Failback's switch-back), changing the
 * entry only while it is still the one that execution (`run`) last wrote:
 * - someone else changed it since (a Failover moved it, an operator, another execution): left alone;
 * - still with its old home (fenced by this run): unfenced there;
 * - moved by this run to the target: given back to the old home only if the old home answers and holds
 *   every core event of the partition the target holds (checked again after fencing the target and
 *   letting its lease run out); otherwise refused, and the partition stays with the target, active. The
 *   fence is a compare-and-set on the entry read (same epoch and proposal, so same home and stamp): an
 *   entry made active by this run can be fenced and moved on by another execution while the first check
 *   runs, and is then left alone, never fenced with this run's stamp.
 * A lost compare-and-set (EpochConflictError: one round missed a majority, the entry may still be this
 * run's, e.g. its own move completed later by a reader) or an entry that changed under a step
 * (EntryChangedError) is not an answer: the entry is read again and decided again from what it is (this
 * run's stamp: go on from there; anyone else's: left alone, naming the holder), up to ROLLBACK_ATTEMPTS
 * times; still conflicting then, the error is thrown and the machine retries the task (2-16 s apart).
 * Left alone only when the entry demonstrably belongs to someone else.
 * Idempotent: a Rollback run again finds its own stamp and does what is left, or refuses again.
 */
export async function rollbackMove(
  deps: RunbookDeps,
  run: string | undefined,
  move: RollbackMove,
): Promise<RollbackOutcome> {
  const { partition } = move;
  if (bugEnabled('blind-rollback')) return blindRollback(deps, move);
  let from = move.from;
  for (let attempt = 1; ; attempt++) {
    const entry = await deps.map.read(partition);
    const why = whyLeftAlone(entry, run);
    if (why !== null || !entry || run === undefined)
      return unchanged('left-alone', partition, entry, why ?? '');
    from ??= entry.home;
    try {
      if (entry.home === from) return restored(await unfencePartition(deps.map, partition, run));
      return await moveBack(deps, run, entry, from);
    } catch (error) {
      if (!(error instanceof EntryChangedError || error instanceof EpochConflictError)) throw error;
      if (bugEnabled('rollback-conflict-left-alone')) {
        const now = await deps.map.read(partition);
        return unchanged('left-alone', partition, now, 'changed by someone else during the rollback');
      }
      // Decided again on the entry as it is now; a conflict that outlasts the attempts fails the task.
      if (attempt >= ROLLBACK_ATTEMPTS) throw error;
    }
  }
}

/** Why Rollback leaves the entry read alone (not this run's to change), or null when it is this run's. */
function whyLeftAlone(entry: PartitionEntry | null, run: string | undefined): string | null {
  if (!entry) return 'the partition has no home';
  if (run === undefined) return 'no run id: this execution cannot tell its changes';
  if (!changedBy(entry, run))
    return `changed by someone else since this execution (${entry.home}, ${entry.state}, ${holder(entry)})`;
  return null;
}

/** Who last changed an entry, for a left-alone answer. */
function holder(entry: PartitionEntry): string {
  return entry.run === undefined ? 'no run stamp: an operator or a Failover' : `run ${entry.run}`;
}

/** The `blind-rollback` bug: back to the old home and unfenced, whatever the entry is now. */
async function blindRollback(deps: RunbookDeps, move: RollbackMove): Promise<RollbackOutcome> {
  const entry = await deps.map.read(move.partition);
  if (!entry) return unchanged('left-alone', move.partition, null, 'the partition has no home');
  if (move.from === null && !(entry.state === 'fenced' && entry.reason === 'rehome'))
    return unchanged('left-alone', move.partition, entry, 'not fenced for a re-homing');
  return restored(await restorePartition(deps.map, move.partition, move.from ?? entry.home));
}
