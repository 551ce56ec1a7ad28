import { ulid } from 'ulid';
import { DrainTimeoutError, EntryChangedError, InvalidTransitionError } from './errors.ts';
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
 * The committed entry, when `run` may change it: without a run id any entry; with one, an entry whose
 * last change that run made (EntryChangedError otherwise), except that a run may fence an active entry.
 */
async function ownEntry(
  map: PartitionMap,
  partition: number,
  run: string | undefined,
  fencing = false,
): Promise<PartitionEntry> {
  const current = await committed(map, partition);
  if (run === undefined || changedBy(current, run) || (fencing && current.state === 'active')) return current;
  throw new EntryChangedError(partition, run, current);
}

const stamp = (run: string | undefined) => (run === undefined ? {} : { run });

/**
 * Step 1 of a re-homing: epoch + 1, state fenced (idempotent). No region accepts core writes after it.
 * With `run`, the fence carries the run id, and an entry someone else fenced is not adopted.
 */
export async function fencePartition(
  map: PartitionMap,
  partition: number,
  reason: FenceReason = 'rehome',
  run?: string,
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, run, true);
  if (current.state === 'fenced') return current;
  return map.change(partition, current, { state: 'fenced', reason, ...stamp(run) });
}

/**
 * Re-stamps a partition that run `previous` left fenced with run `run` (epoch + 1, still fenced, same
 * home): an operator hands the partitions of a dead execution to a new one. EntryChangedError when the
 * entry is not `previous`'s fence.
 */
export async function takeOverFence(
  map: PartitionMap,
  partition: number,
  runs: { readonly previous: string; readonly run: string },
): Promise<PartitionEntry> {
  const current = await ownEntry(map, partition, runs.previous);
  if (current.state !== 'fenced') throw new EntryChangedError(partition, runs.previous, current);
  return map.change(partition, current, { state: 'fenced', reason: 'rehome', run: runs.run });
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
  const fenced = await fencePartition(map, partition, 'rehome', run);
  const sleep = options.sleep ?? delay;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  while (from !== to && !(await options.catchUp(partition, from, to))) {
    if (Date.now() - started >= timeoutMs) {
      // Nothing moved yet: unfencing restores the old home, unless someone changed the entry meanwhile.
      await unfencePartition(map, partition, run).catch((error: unknown) => {
        if (!(error instanceof EntryChangedError)) throw error;
      });
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
