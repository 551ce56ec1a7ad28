import { bugEnabled } from '../faults/index.ts';
import { EpochConflictError } from '../ownership/errors.ts';
import type { PartitionChange, PartitionEntry, PlannedChange } from '../ownership/partition-map.ts';
import type { PlannedMove } from './decisions.ts';
import { mapBounded } from './input.ts';
import type { RunbookDeps } from './ports.ts';

/**
 * What a planned move still needs, given the partition's committed entry. A fence of the lost home that a
 * run stamped (a Switchover's or a switch-back's, still checking its watermark) is fenced again at epoch
 * + 1, unstamped: the survivors' copies then carry an epoch past that run's fence (CollectCopies seals
 * with it), so the run's direct delivery, whose appends check the target's copy is not past its fence's
 * epoch, puts nothing into a survivor this Failover sealed or collected; and the run can no longer move,
 * unfence or roll back the entry (each checks its stamp). The Failover's own fence carries no stamp, so a
 * retry takes it as it is. Bug switch `failover-keeps-switchover-fence`: the run's fence is taken as the
 * Failover's own (same epoch), and the seal cannot be told from it.
 */
function nextStep(entry: PartitionEntry | null, move: PlannedMove): 'skip' | 'fence' | 'rehome' {
  if (!entry) return 'skip';
  if (entry.state === 'fenced' && (entry.home === move.from || entry.home === move.to)) {
    const othersFence = entry.run !== undefined && entry.home === move.from;
    return othersFence && !bugEnabled('failover-keeps-switchover-fence') ? 'fence' : 'rehome';
  }
  return entry.home === move.from ? 'fence' : 'skip';
}

/**
 * True when `entry` is the new home this run proposed over `over` (the fenced entry it decided from): the
 * epoch and home it set. Its write can commit though its answer is lost (a timeout after DynamoDB wrote
 * it), so a retry that finds it must report the partition moved, not skip it. A later run never proposed
 * over that entry (its fence step skips a partition no longer homed in `from`), so it still reports nothing.
 */
function isOwnRehome(entry: PartitionEntry, move: PlannedMove, over: PartitionEntry | undefined): boolean {
  if (!over || bugEnabled('lost-answer-rehome-skipped')) return false;
  return entry.state === 'active' && entry.home === move.to && entry.epoch === over.epoch + 1;
}

const FENCE: PartitionChange = { state: 'fenced', reason: 'rehome' };
const rehomeTo = (move: PlannedMove): PartitionChange => ({ home: move.to, state: 'active' });

/** A fenced partition and the region it moves to. */
export interface FencedMove {
  readonly entry: PartitionEntry;
  readonly to: string;
}

/**
 * Runs between a partition's fence and its new home (the failover's collection of quorum copies);
 * returns the partitions that must stay fenced.
 */
export type BeforeRehome = (fenced: readonly FencedMove[]) => Promise<ReadonlySet<number>>;

/**
 * Moves a partition to `to` through the quorum map unless it is no longer homed in `from` (a re-run, or
 * an operator moved it): idempotent. Two compare-and-sets, each epoch + 1: fence, then new home + active,
 * with `beforeRehome` in between. The second is proposed after the fence committed, so its `activeFrom`
 * (now + lease + skew margin) comes after every lease the old home may still hold (see
 * PartitionOwnership); no region writes in between. `proposedOver`: the fenced entry a new home was
 * already proposed over (by a batch whose answer did not come back); finding that new home committed
 * returns it (moved), as does finding the one this call proposed.
 */
export async function movePartition(
  deps: RunbookDeps,
  move: PlannedMove,
  beforeRehome?: BeforeRehome,
  proposedOver?: PartitionEntry,
): Promise<PartitionEntry | null> {
  let over = proposedOver;
  for (let attempt = 1; ; attempt++) {
    try {
      let entry = await deps.map.read(move.partition);
      if (entry && isOwnRehome(entry, move, over)) return entry;
      const step = nextStep(entry, move);
      if (step === 'skip' || !entry) return null;
      if (step === 'fence') entry = await deps.map.change(move.partition, entry, FENCE);
      if (beforeRehome && (await beforeRehome([{ entry, to: move.to }])).has(move.partition)) return null;
      over = entry;
      return await deps.map.change(move.partition, entry, rehomeTo(move));
    } catch (error) {
      if (!(error instanceof EpochConflictError) || attempt >= 3) throw error;
    }
  }
}

/** Fences one partition (or finds it fenced already) unless it is no longer homed in `from`. */
async function fenceOne(deps: RunbookDeps, move: PlannedMove): Promise<PartitionEntry | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      const entry = await deps.map.read(move.partition);
      const step = nextStep(entry, move);
      if (step === 'skip' || !entry) return null;
      return step === 'fence' ? await deps.map.change(move.partition, entry, FENCE) : entry;
    } catch (error) {
      if (!(error instanceof EpochConflictError) || attempt >= 3) throw error;
    }
  }
}

/** A partition entry as an earlier task returned it (state machine JSON), or undefined when it is not one. */
function asEntry(value: unknown): PartitionEntry | undefined {
  const e = value as Partial<PartitionEntry> | null;
  const ok =
    typeof e?.partition === 'number' &&
    typeof e.epoch === 'number' &&
    typeof e.ballot === 'string' &&
    typeof e.home === 'string' &&
    (e.state === 'active' || e.state === 'fenced') &&
    typeof e.activeFrom === 'number';
  return ok ? (e as PartitionEntry) : undefined;
}

/** The committed entries of `partitions`: those `observed` by an earlier majority read, the rest read now. */
async function entriesOf(
  deps: RunbookDeps,
  partitions: readonly number[],
  observed: readonly unknown[],
): Promise<Map<number, PartitionEntry | null>> {
  const known = new Map<number, PartitionEntry | null>();
  for (const entry of observed.map(asEntry)) if (entry) known.set(entry.partition, entry);
  const missing = partitions.filter((p) => !known.has(p));
  if (missing.length > 0) for (const [p, entry] of await deps.map.readMany(missing)) known.set(p, entry);
  return known;
}

/**
 * The fence half of `movePartitions`: one batch read (skipped for the entries `observed` by an earlier
 * majority read, e.g. ChooseNewHomes') and one batch of fences (epoch + 1); a partition already fenced for
 * this move is taken as it is, one whose CAS lost is fenced on its own (fresh read). `skipped`: partitions
 * no longer homed in `from` (moved already, or by someone else).
 */
export async function fencePartitions(
  deps: RunbookDeps,
  moves: readonly PlannedMove[],
  observed: readonly unknown[] = [],
): Promise<{ fenced: FencedMove[]; skipped: number[] }> {
  const planned = new Map(moves.map((m) => [m.partition, m]));
  const fenced: FencedMove[] = [];
  const skipped: number[] = [];
  const toFence: PlannedChange[] = [];
  const entries = await entriesOf(deps, [...planned.keys()], observed);
  for (const move of planned.values()) {
    const entry = entries.get(move.partition) ?? null;
    const step = nextStep(entry, move);
    if (step === 'skip' || !entry) skipped.push(move.partition);
    else if (step === 'fence') toFence.push({ current: entry, change: FENCE });
    else fenced.push({ entry, to: move.to });
  }
  const retry: PlannedMove[] = [];
  for (const outcome of await deps.map.changeMany(toFence)) {
    const move = planned.get(outcome.partition)!;
    if (outcome.entry) fenced.push({ entry: outcome.entry, to: move.to });
    else retry.push(move);
  }
  const retried = await mapBounded(retry, deps.concurrency ?? 16, (move) => fenceOne(deps, move));
  retry.forEach((move, i) => {
    const entry = retried[i];
    if (entry) fenced.push({ entry, to: move.to });
    else skipped.push(move.partition);
  });
  return { fenced, skipped };
}

/**
 * The activation half of `movePartitions`: one batch of compare-and-sets over the fenced entries (new home
 * + active, epoch + 1), leaving out `blocked`; a partition whose CAS lost goes through `movePartition` on
 * its own, `beforeRehome` included. Results in the order of `moves` (null: not moved).
 */
export async function activatePartitions(
  deps: RunbookDeps,
  input: {
    readonly moves: readonly PlannedMove[];
    readonly fenced: readonly FencedMove[];
    readonly blocked?: ReadonlySet<number>;
    readonly beforeRehome?: BeforeRehome;
  },
): Promise<Array<PartitionEntry | null>> {
  const planned = new Map(input.moves.map((m) => [m.partition, m]));
  const done = new Map<number, PartitionEntry | null>();
  const proposed = new Map<number, PartitionEntry>();
  const toRehome = input.fenced
    .filter((f) => planned.has(f.entry.partition) && !input.blocked?.has(f.entry.partition))
    .map((f) => {
      proposed.set(f.entry.partition, f.entry);
      return { current: f.entry, change: rehomeTo(planned.get(f.entry.partition)!) };
    });
  const retry: PlannedMove[] = [];
  for (const outcome of await deps.map.changeMany(toRehome)) {
    if (outcome.entry) done.set(outcome.partition, outcome.entry);
    else retry.push(planned.get(outcome.partition)!);
  }
  // A CAS that lost may have lost only its answer (or a retried task finds its first attempt's write):
  // the retry reports such a partition moved, from the epoch and home proposed over its fenced entry.
  const retried = await mapBounded(retry, deps.concurrency ?? 16, (move) =>
    movePartition(deps, move, input.beforeRehome, proposed.get(move.partition)),
  );
  retry.forEach((move, i) => {
    done.set(move.partition, retried[i] ?? null);
  });
  return input.moves.map((m) => done.get(m.partition) ?? null);
}

/**
 * `movePartition` for many partitions at once, in two or three quorum rounds whatever their number: a
 * batch read, a batch of fences, `beforeRehome` over every fenced partition, a batch of new homes. Every
 * change is a compare-and-set on the entry it was decided from, so a stale observation only loses its
 * CAS: that partition then goes through `movePartition` on its own. Results in the order of `moves`.
 */
export async function movePartitions(
  deps: RunbookDeps,
  moves: readonly PlannedMove[],
  observed: readonly unknown[] = [],
  beforeRehome?: BeforeRehome,
): Promise<Array<PartitionEntry | null>> {
  const { fenced } = await fencePartitions(deps, moves, observed);
  const blocked = beforeRehome ? await beforeRehome(fenced) : new Set<number>();
  return activatePartitions(deps, {
    moves,
    fenced,
    blocked,
    ...(beforeRehome ? { beforeRehome } : {}),
  });
}
