import { ulid } from 'ulid';
import { bugEnabled } from '../faults/switches.ts';
import {
  DrainTimeoutError,
  EntryChangedError,
  EpochConflictError,
  InvalidTransitionError,
} from './errors.ts';
import type { FenceReason, PartitionEntry, PartitionMap } from './partition-map.ts';

/** True once `to` has every event `from` wrote for the partition (port; see `partitionCaughtUp`). */
export type CatchUpCheck = (partition: number, from: string, to: string) => Promise<boolean>;

async function committed(map: PartitionMap, partition: number): Promise<PartitionEntry> {
  const entry = await map.read(partition);
  if (!entry) throw new InvalidTransitionError(partition, 'the partition has no home yet');
  return entry;
}

/** True when the entry's last change was made by run `run`. */
export function changedBy(entry: PartitionEntry | null, run: string): boolean {
  return entry?.run === run;
}

/**
 * The committed entry, when `run` may change it: without a run id any entry; with one, only an entry
 * whose last change that run made (EntryChangedError otherwise).
 */
async function ownEntry(
  map: PartitionMap,
  partition: number,
  run: string | undefined,
): Promise<PartitionEntry> {
  const current = await committed(map, partition);
  if (run === undefined || changedBy(current, run)) return current;
  throw new EntryChangedError(partition, run, current);
}

/** True when `a` and `b` are one committed entry (same epoch and proposal: the register's version). */
export function sameEntry(a: PartitionEntry, b: PartitionEntry): boolean {
  return a.partition === b.partition && a.epoch === b.epoch && a.ballot === b.ballot;
}

/** True when `current` is the fence `run` committed on top of `over` (its answer may have been lost). */
function fenceOver(current: PartitionEntry, over: PartitionEntry, run: string): boolean {
  return (
    current.state === 'fenced' &&
    changedBy(current, run) &&
    current.home === over.home &&
    current.epoch === over.epoch + 1
  );
}

const stamp = (run: string | undefined) => (run === undefined ? {} : { run });

/**
 * Step 1 of a re-homing: epoch + 1, state fenced (idempotent). No region accepts core writes after it.
 * Without `run`, whatever the entry is (an operator's fence). With `run`, only an entry that run changed
 * last; a run that fences an entry someone else wrote says which one with `fenceEntry`.
 */
export async function fencePartition(
  map: PartitionMap,
  partition: number,
  reason: FenceReason = 'rehome',
  run?: string,
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, run);
  if (current.state === 'fenced') return current;
  return map.change(partition, current, { state: 'fenced', reason, ...stamp(run) });
}

/**
 * Fences exactly the entry `over` that run `run` read and decided on, stamped with `run` (idempotent): a
 * compare-and-set on its epoch and proposal, so home, state and stamp are the ones read. EntryChangedError
 * when the partition moved on since (another execution, a Failover, an operator): the caller decided on
 * an entry that is gone, e.g. compared the logs of a home that is no longer the home. Finding the fence
 * this run committed over `over` (a retry after a lost answer) returns it.
 * Bug switch `rollback-fences-any-active` brings the old rule back: an active entry is fenced whoever wrote it.
 */
export async function fenceEntry(
  map: PartitionMap,
  over: PartitionEntry,
  run: string,
  reason: FenceReason = 'rehome',
): Promise<PartitionEntry> {
  const current = await committed(map, over.partition);
  if (bugEnabled('rollback-fences-any-active') && (changedBy(current, run) || current.state === 'active'))
    return current.state === 'fenced'
      ? current
      : map.change(over.partition, current, { state: 'fenced', reason, run });
  if (fenceOver(current, over, run)) return current;
  if (!sameEntry(current, over)) throw new EntryChangedError(over.partition, run, current);
  if (current.state === 'fenced' && changedBy(current, run)) return current;
  // The committed entry is `over`: the compare-and-set at its epoch + 1 fails if anyone changes it first.
  return map.change(over.partition, current, { state: 'fenced', reason, run });
}

/**
 * `fenceEntry` on an entry `over` the caller has just read committed (a majority read): the
 * compare-and-set on it is made at once, without reading the entry again; only when it loses (the entry
 * changed since, or this run's own fence already took that epoch) is the entry read and decided as
 * `fenceEntry` decides. Same outcome, one majority read fewer.
 */
export async function fenceReadEntry(
  map: PartitionMap,
  over: PartitionEntry,
  run: string,
): Promise<PartitionEntry> {
  if (bugEnabled('rollback-fences-any-active')) return fenceEntry(map, over, run);
  if (over.state === 'fenced' && changedBy(over, run)) return over;
  try {
    return await map.change(over.partition, over, { state: 'fenced', reason: 'rehome', run });
  } catch (error) {
    if (!(error instanceof EpochConflictError)) throw error;
    return fenceEntry(map, over, run);
  }
}

/**
 * Re-stamps the fence `over` that a dead execution left (epoch + 1, still fenced, same home) with run
 * `run`: an operator hands the partitions of a dead execution to a new one. A compare-and-set on the
 * entry read, as `fenceEntry`: EntryChangedError when the entry is not that fence any more (the execution
 * was not dead after all and moved or unfenced it, or someone else changed it). Idempotent.
 * Bug switch `rollback-fences-any-active`: whatever fence the dead run holds now is taken over.
 */
export async function takeOverFence(
  map: PartitionMap,
  over: PartitionEntry,
  run: string,
): Promise<PartitionEntry> {
  const current = await committed(map, over.partition);
  if (fenceOver(current, over, run)) return current;
  if (bugEnabled('rollback-fences-any-active') && current.state === 'fenced' && current.run === over.run)
    return map.change(over.partition, current, { state: 'fenced', reason: 'rehome', run });
  if (!sameEntry(current, over) || over.state !== 'fenced' || over.run === undefined)
    throw new EntryChangedError(over.partition, over.run ?? run, current);
  return map.change(over.partition, current, { state: 'fenced', reason: 'rehome', run });
}

/**
 * Step 3: home = `to`, epoch + 1, still fenced (idempotent; the partition must be fenced). With `run`,
 * only while the entry is still that run's.
 */
export async function movePartitionHome(
  map: PartitionMap,
  partition: number,
  to: string,
  run?: string,
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, run);
  if (current.home === to) return current;
  return map.change(partition, current, { home: to, ...stamp(run) });
}

/**
 * Steps 3 and 4 in one change (idempotent): home = `to` and active, epoch + 1, writable at once. Only for a
 * partition whose old home confirmed its fence (its own copy carries it, read back after the fence
 * committed) and whose head `to` holds: the move and the unfence would follow each other with nothing in
 * between, and one register change saves a majority read and a write round while the partition refuses
 * core writes. Readers see the fenced old home, then the active new one; never two writable homes, since
 * the old home's append guard fails on its own copy whatever lease it holds. With `run`, only while the
 * entry is still that run's (an entry this run already made active at `to` is returned as is).
 */
export async function moveHomeConfirmed(
  map: PartitionMap,
  partition: number,
  to: string,
  run?: string,
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, run);
  if (current.home === to && current.state === 'active') return current;
  if (current.state !== 'fenced')
    throw new InvalidTransitionError(
      partition,
      `the partition must be fenced to move (it is ${current.state})`,
    );
  return map.change(partition, current, { home: to, state: 'active', sourceConfirmed: true, ...stamp(run) });
}

/**
 * Step 3 (with `atOnce`, steps 3 and 4 as `moveHomeConfirmed`) made on the fence `fenced` that run `run`
 * committed, as its commit returned it, without reading the entry first: a compare-and-set at its epoch
 * + 1, which commits only while the committed entry is still that fence (any change since, ours included,
 * took that epoch). EpochConflictError otherwise: the caller reads the entry and decides
 * (`moveHomeConfirmed` / `movePartitionHome`, which return a move this run already made). Saves a
 * majority read while the partition refuses core writes.
 */
export async function moveFromFence(
  map: PartitionMap,
  fenced: PartitionEntry,
  move: { readonly to: string; readonly run: string; readonly atOnce: boolean },
): Promise<PartitionEntry> {
  // A caller's slip, not the safety: `fenced` is the value this run's own Fence returned, so the check
  // holds by construction and no interleaving makes it fail. What keeps another run's (or a Rollback's,
  // or a Failover's) change from being overwritten is the compare-and-set below, at `fenced`'s epoch + 1.
  if (fenced.state !== 'fenced' || !changedBy(fenced, move.run))
    throw new InvalidTransitionError(fenced.partition, 'only a fence of this run moves without a read');
  const { to, run } = move;
  return map.change(
    fenced.partition,
    fenced,
    move.atOnce ? { home: to, state: 'active', sourceConfirmed: true, run } : { home: to, run },
  );
}

/**
 * Step 4: state active, epoch + 1 (idempotent). The home writes from `activeFrom` on: after lease + skew,
 * or at once with `sourceConfirmed` (see PartitionChange). With `run`, only while the entry is still
 * that run's.
 */
export async function unfencePartition(
  map: PartitionMap,
  partition: number,
  run?: string,
  options: { readonly sourceConfirmed?: boolean } = {},
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, run);
  if (current.state === 'active') return current;
  const confirmed = options.sourceConfirmed ? { sourceConfirmed: true } : {};
  return map.change(partition, current, { state: 'active', ...stamp(run), ...confirmed });
}

/**
 * The old, blind rollback: gives the partition back to `home` and unfences it, whatever the entry is now.
 * Kept for the `blind-rollback` bug switch only; runbooks roll back with `rollbackRehome`.
 */
export async function restorePartition(
  map: PartitionMap,
  partition: number,
  home: string,
): Promise<PartitionEntry> {
  let current = await committed(map, partition);
  if (current.home !== home) {
    if (current.state === 'active') current = await map.change(partition, current, { state: 'fenced' });
    current = await map.change(partition, current, { home });
  }
  return current.state === 'active' ? current : map.change(partition, current, { state: 'active' });
}

export interface RehomeOptions {
  readonly partition: number;
  readonly to: string;
  readonly catchUp: CatchUpCheck;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RehomeReport {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
  /** Epochs written by fence, move and unfence. */
  readonly epochs: { readonly fenced: number; readonly moved: number; readonly active: number };
  /** Wall-clock ms from which the new home accepts writes. */
  readonly activeFrom: number;
  readonly drainedInMs: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Attempts of an unfence whose compare-and-set is lost (EpochConflictError) before the error is thrown. */
const UNFENCE_ATTEMPTS = 3;

/**
 * Unfences the partition while it is still `run`'s: an entry someone else changed since is left to them
 * (EntryChangedError, the entry read says so); a lost compare-and-set (EpochConflictError) says nothing
 * about who holds it (a later reader may complete this run's own proposal), so the entry is read and
 * decided again (`unfencePartition` reads it first), and a conflict that outlasts the attempts is thrown.
 * Bug switch `rollback-conflict-left-alone`: a lost compare-and-set is taken for someone else's change.
 */
async function unfenceOwn(map: PartitionMap, partition: number, run: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await unfencePartition(map, partition, run);
      return;
    } catch (error) {
      if (error instanceof EntryChangedError) return;
      const conflict = error instanceof EpochConflictError;
      if (conflict && bugEnabled('rollback-conflict-left-alone')) return;
      if (!conflict || attempt >= UNFENCE_ATTEMPTS) throw error;
    }
  }
}

/**
 * Moves a partition's home (planned switchover, RPO 0): fence -> drain (wait until `to` has `from`'s
 * events of the partition) -> move -> unfence. On a drain timeout it restores the old home and throws
 * DrainTimeoutError.
 * @example await rehomePartition(map, { partition: 17, to: 'eu-west-1', catchUp: partitionCaughtUp(logs) })
 */
export async function rehomePartition(map: PartitionMap, options: RehomeOptions): Promise<RehomeReport> {
  const { partition, to } = options;
  const before = await committed(map, partition);
  const from = before.home;
  const run = ulid();
  // The entry read: `from` is its home, so that is the one to fence (not a newer one someone wrote since).
  const fenced = await fenceEntry(map, before, run);
  const sleep = options.sleep ?? delay;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  while (from !== to && !(await options.catchUp(partition, from, to))) {
    if (Date.now() - started >= timeoutMs) {
      // Nothing moved yet: unfencing restores the old home, unless someone changed the entry meanwhile.
      await unfenceOwn(map, partition, run);
      throw new DrainTimeoutError(partition, from, to, Date.now() - started);
    }
    await sleep(options.pollMs ?? 500);
  }
  const drainedInMs = Date.now() - started;
  const moved = await movePartitionHome(map, partition, to, run);
  const active = await unfencePartition(map, partition, run);
  return {
    partition,
    from,
    to,
    epochs: { fenced: fenced.epoch, moved: moved.epoch, active: active.epoch },
    activeFrom: active.activeFrom,
    drainedInMs,
  };
}
