import { InvalidTransitionError, OwnershipError } from './errors.ts';
import type { QuorumRegister } from './quorum-register.ts';
import type { RegisterRecord } from './register-record.ts';

export const PARTITION_STATES = ['active', 'fenced'] as const;
export type PartitionState = (typeof PARTITION_STATES)[number];

/** Why a partition is fenced: a re-homing in progress, an operator, or contention between proposers. */
export type FenceReason = 'rehome' | 'operator' | 'contention';

/** What the partition map stores per partition (the register value). */
export interface PartitionValue {
  readonly home: string;
  readonly state: PartitionState;
  /** Wall-clock ms before which the home must not accept writes (lets the previous home's lease run out). */
  readonly activeFrom: number;
  readonly reason?: FenceReason;
  /**
   * The runbook execution (Switchover, Failback's switch-back) that made this value, when one did: its
   * later steps and its Rollback change the entry only while it still carries their own run id, so they
   * never undo what a Failover, an operator or another execution did meanwhile. Any other change drops it.
   */
  readonly run?: string;
}

/** A committed partition-map entry: the value plus its epoch (the fencing token) and proposal id. */
export interface PartitionEntry extends PartitionValue {
  readonly partition: number;
  readonly epoch: number;
  readonly ballot: string;
}

export interface PartitionChange {
  readonly home?: string;
  readonly state?: PartitionState;
  readonly reason?: FenceReason;
  /** Stamps the new value with a runbook execution's id (see PartitionValue.run). */
  readonly run?: string;
  /**
   * Unfencing only: the previous home has confirmed it can no longer write (its own copy of the entry,
   * read strongly consistently after the fence committed, carries the fence, so its append guard fails
   * whatever lease it still holds). The new home writes at once: no lease + skew hold.
   */
  readonly sourceConfirmed?: boolean;
}

/** One change of a batch: `change` over `current`, which must be the partition's committed entry. */
export interface PlannedChange {
  readonly current: PartitionEntry;
  readonly change: PartitionChange;
}

/** The outcome of one change of a batch: the committed entry, or why it did not commit. */
export type ChangeOutcome =
  | { readonly partition: number; readonly entry: PartitionEntry; readonly error?: undefined }
  | { readonly partition: number; readonly entry?: undefined; readonly error: OwnershipError };

/** What every partition's control-state key begins with. */
const PARTITION_KEY_PREFIX = 'PARTITION#';

/** Control-table key of a partition's register. */
export function partitionKey(partition: number): string {
  return `${PARTITION_KEY_PREFIX}${partition}`;
}

/** The entry a register record stands for. */
export function toEntry(partition: number, record: RegisterRecord<PartitionValue>): PartitionEntry {
  return { partition, epoch: record.epoch, ballot: record.ballot, ...record.value };
}

/**
 * The next value of a partition (pure). Rules that keep one writer per partition:
 * - the home changes only while the partition is fenced (fence -> move -> unfence), never active to active;
 * - unfencing sets `activeFrom = now + holdMs` (holdMs = lease + clock-skew margin): the unfence is
 *   proposed after the fence committed, and any lease on an older entry came from a read that started
 *   before the fence committed, so it has run out before the (possibly new) home may write;
 * - unless the change says `sourceConfirmed`: the old home's own copy carries the fence, so no lease
 *   there can pass its append guard any more, and the new home writes at once (cooperative switchover).
 * @example nextPartitionValue(entry, { state: 'fenced', reason: 'rehome' }, { now: Date.now(), holdMs: 7_000 })
 */
export function nextPartitionValue(
  current: PartitionEntry | null,
  change: PartitionChange,
  clock: { readonly now: number; readonly holdMs: number },
): PartitionValue {
  if (current === null) {
    if (!change.home) throw new InvalidTransitionError(-1, 'a first claim needs a home');
    return { home: change.home, state: change.state ?? 'active', activeFrom: 0 };
  }
  const home = change.home ?? current.home;
  const state = change.state ?? current.state;
  if (home !== current.home && current.state === 'active') {
    throw new InvalidTransitionError(current.partition, `fence before moving the home from ${current.home}`);
  }
  const unfencing = current.state === 'fenced' && state === 'active';
  const hold = change.sourceConfirmed ? 0 : clock.holdMs;
  const activeFrom = unfencing ? Math.max(current.activeFrom, clock.now + hold) : current.activeFrom;
  const run = change.run === undefined ? {} : { run: change.run };
  return state === 'fenced'
    ? { home, state, activeFrom, reason: change.reason ?? current.reason ?? 'operator', ...run }
    : { home, state, activeFrom, ...run };
}

/** Contention between proposals of one epoch: keep the most widely held home, but fenced (see nextPartitionValue). */
function resolveContention(candidates: ReadonlyArray<RegisterRecord<PartitionValue>>): PartitionValue {
  const chosen = candidates[0]!.value;
  return { home: chosen.home, state: 'fenced', activeFrom: chosen.activeFrom, reason: 'contention' };
}

export interface PartitionMapOptions {
  readonly register: QuorumRegister;
  /** How long a home trusts a majority read of its own entry (see PartitionOwnership, fencing-budget.ts). */
  readonly leaseMs: number;
  /** Allowance for clock offset between regions and for an append in flight (fencing-budget.ts). */
  readonly skewMarginMs: number;
  readonly now?: () => number;
}

/**
 * The partition map: partition -> home region + epoch, one quorum register per partition in the control
 * tables of every region.
 * @example const entry = (await map.read(17)) ?? (await map.claim(17, 'eu-west-1'));
 */
export class PartitionMap {
  readonly leaseMs: number;
  readonly skewMarginMs: number;
  readonly register: QuorumRegister;
  private readonly now: () => number;

  constructor(options: PartitionMapOptions) {
    this.register = options.register;
    this.leaseMs = options.leaseMs;
    this.skewMarginMs = options.skewMarginMs;
    this.now = options.now ?? Date.now;
  }

  /** The committed entry of a partition (majority read), or null when no region ever homed it. */
  async read(partition: number): Promise<PartitionEntry | null> {
    const record = await this.register.read(partitionKey(partition), resolveContention);
    return record ? toEntry(partition, record) : null;
  }

  /** The committed entries of many partitions with one batch quorum round (null: never homed). */
  /**
   * Every partition's committed entry in one quorum round (each replica scans its partition entries),
   * by partition; undefined when that round cannot be had (a replica without scan, no majority): use
   * `readMany` then.
   */
  async readAll(): Promise<PartitionEntry[] | undefined> {
    const records = await this.register.readPrefix<PartitionValue>(PARTITION_KEY_PREFIX, resolveContention);
    if (!records) return undefined;
    const entries: PartitionEntry[] = [];
    for (const [key, record] of records) {
      const partition = Number(key.slice(PARTITION_KEY_PREFIX.length));
      if (record && Number.isInteger(partition)) entries.push(toEntry(partition, record));
    }
    return entries.sort((a, b) => a.partition - b.partition);
  }

  async readMany(partitions: readonly number[]): Promise<Map<number, PartitionEntry | null>> {
    const records = await this.register.readMany<PartitionValue>(
      partitions.map(partitionKey),
      resolveContention,
    );
    return new Map(
      partitions.map((p) => {
        const record = records.get(partitionKey(p));
        return [p, record ? toEntry(p, record) : null];
      }),
    );
  }

  /**
   * Commits many changes (each at its epoch + 1) in one batch write round. Each one commits or fails on
   * its own (EpochConflictError: re-read that partition; InvalidTransitionError: the rules forbid it).
   */
  async changeMany(changes: readonly PlannedChange[]): Promise<ChangeOutcome[]> {
    const clock = { now: this.now(), holdMs: this.leaseMs + this.skewMarginMs };
    const outcomes: ChangeOutcome[] = [];
    const proposed: Array<{ partition: number; expected: PartitionEntry; value: PartitionValue }> = [];
    for (const { current, change } of changes) {
      try {
        proposed.push({
          partition: current.partition,
          expected: current,
          value: nextPartitionValue(current, change, clock),
        });
      } catch (error) {
        if (!(error instanceof OwnershipError)) throw error;
        outcomes.push({ partition: current.partition, error });
      }
    }
    const committed = await this.register.compareAndSetMany<PartitionValue>(
      proposed.map(({ partition, expected, value }) => ({
        key: partitionKey(partition),
        expected: { epoch: expected.epoch, ballot: expected.ballot, value: expected },
        value,
      })),
    );
    committed.forEach((outcome, i) => {
      const { partition } = proposed[i]!;
      outcomes.push(
        outcome.record
          ? { partition, entry: toEntry(partition, outcome.record) }
          : { partition, error: outcome.error },
      );
    });
    return outcomes;
  }

  /** Homes an unknown partition in `home` by compare-and-set on a majority; returns whichever claim won. */
  async claim(partition: number, home: string): Promise<PartitionEntry> {
    try {
      return await this.change(partition, null, { home });
    } catch (error) {
      const winner = await this.read(partition);
      if (winner) return winner;
      throw error;
    }
  }

  /** Commits `change` over `current` (which must be the committed entry) at epoch + 1. */
  async change(
    partition: number,
    current: PartitionEntry | null,
    change: PartitionChange,
  ): Promise<PartitionEntry> {
    const value = nextPartitionValue(current, change, {
      now: this.now(),
      holdMs: this.leaseMs + this.skewMarginMs,
    });
    const expected = current ? { epoch: current.epoch, ballot: current.ballot, value: current } : null;
    const record = await this.register.compareAndSet<PartitionValue>(
      partitionKey(partition),
      expected,
      value,
    );
    return toEntry(partition, record);
  }
}
