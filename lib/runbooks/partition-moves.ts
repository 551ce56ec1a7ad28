import { EpochConflictError } from '../ownership/errors.ts';
import type { PartitionChange, PartitionEntry, PlannedChange } from '../ownership/partition-map.ts';
import type { PlannedMove } from './decisions.ts';
import { mapBounded } from './input.ts';
import type { RunbookDeps } from './ports.ts';

/** What a planned move still needs, given the partition's committed entry. */
function nextStep(entry: PartitionEntry | null, move: PlannedMove): 'skip' | 'fence' | 'rehome' {
  if (!entry) return 'skip';
  if (entry.state === 'fenced' && (entry.home === move.from || entry.home === move.to)) return 'rehome';
  return entry.home === move.from ? 'fence' : 'skip';
}

const FENCE: PartitionChange = { state: 'fenced', reason: 'rehome' };
const rehomeTo = (move: PlannedMove): PartitionChange => ({ home: move.to, state: 'active' });

/**
 * Moves a partition to `to` through the quorum map unless it is no longer homed in `from` (a re-run, or
 * an operator moved it): idempotent. Two compare-and-sets, each epoch + 1: fence, then new home + active.
 * The second is proposed after the fence committed, so its `activeFrom` (now + lease + skew margin) comes
 * after every lease the old home may still hold (see PartitionOwnership); no region writes in between.
 */
export async function movePartition(deps: RunbookDeps, move: PlannedMove): Promise<PartitionEntry | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      let entry = await deps.map.read(move.partition);
      const step = nextStep(entry, move);
      if (step === 'skip' || !entry) return null;
      if (step === 'fence') entry = await deps.map.change(move.partition, entry, FENCE);
      return await deps.map.change(move.partition, entry, rehomeTo(move));
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
 * `movePartition` for many partitions at once, in two or three quorum rounds whatever their number: a
 * batch read (skipped for the entries `observed` by an earlier majority read, e.g. ChooseNewHomes'), a
 * batch of fences, a batch of new homes. Every change is a compare-and-set on the entry it was decided
 * from, so a stale observation only loses its CAS: that partition, like any whose CAS lost or failed,
 * then goes through `movePartition` on its own (fresh read). Results in the order of `moves`.
 */
export async function movePartitions(
  deps: RunbookDeps,
  moves: readonly PlannedMove[],
  observed: readonly unknown[] = [],
): Promise<Array<PartitionEntry | null>> {
  const planned = new Map(moves.map((m) => [m.partition, m]));
  const done = new Map<number, PartitionEntry | null>();
  const toFence: PlannedChange[] = [];
  const toRehome: PlannedChange[] = [];
  const entries = await entriesOf(deps, [...planned.keys()], observed);
  for (const move of planned.values()) {
    const entry = entries.get(move.partition) ?? null;
    const step = nextStep(entry, move);
    if (step === 'skip' || !entry) done.set(move.partition, null);
    else if (step === 'fence') toFence.push({ current: entry, change: FENCE });
    else toRehome.push({ current: entry, change: rehomeTo(move) });
  }
  const retry: PlannedMove[] = [];
  for (const outcome of await deps.map.changeMany(toFence)) {
    const move = planned.get(outcome.partition)!;
    if (outcome.entry) toRehome.push({ current: outcome.entry, change: rehomeTo(move) });
    else retry.push(move);
  }
  for (const outcome of await deps.map.changeMany(toRehome)) {
    if (outcome.entry) done.set(outcome.partition, outcome.entry);
    else retry.push(planned.get(outcome.partition)!);
  }
  const retried = await mapBounded(retry, deps.concurrency ?? 16, (move) => movePartition(deps, move));
  retry.forEach((move, i) => {
    done.set(move.partition, retried[i] ?? null);
  });
  return moves.map((m) => done.get(m.partition) ?? null);
}
