import type { QuorumRegister } from '../ownership/quorum-register.ts';
import type { PlannedMove } from './decisions.ts';

/**
 * What a failover put at risk, kept in the quorum control state (it survives any one region): the
 * partitions moved and, per surviving region, the newest HLC it had applied from the lost region. Events
 * the lost region wrote after those watermarks are the RPO window that failback reconciles.
 */
export interface FailoverRecord {
  readonly region: string;
  readonly trigger: string;
  readonly failedOverAt: number;
  readonly moves: readonly PlannedMove[];
  /** Surviving region -> newest HLC applied from the lost region at failover (null: nothing ever). */
  readonly watermarks: Readonly<Record<string, string | null>>;
  /** Set by failback; a closed record no longer blocks a new failover of the region. */
  readonly closedAt?: number;
}

/** Control-state key of a region's failover record. */
export function failoverRecordKey(region: string): string {
  return `FAILOVER#${region}`;
}

/** The region's failover record (majority read), or null. */
export async function readFailoverRecord(
  register: QuorumRegister,
  region: string,
): Promise<FailoverRecord | null> {
  return (await register.read<FailoverRecord>(failoverRecordKey(region)))?.value ?? null;
}

/**
 * Writes the record unless an open one exists (then that one is kept: the first failover's watermarks
 * bound the RPO window, a re-run must not move them). Returns the record in force.
 */
export async function openFailoverRecord(
  register: QuorumRegister,
  record: FailoverRecord,
): Promise<FailoverRecord> {
  const key = failoverRecordKey(record.region);
  for (let attempt = 1; ; attempt++) {
    const current = await register.read<FailoverRecord>(key);
    if (current && current.value.closedAt === undefined) return current.value;
    try {
      return (await register.compareAndSet(key, current, record)).value;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/** Closes the region's open record (idempotent); returns it, or null when none was open. */
export async function closeFailoverRecord(
  register: QuorumRegister,
  region: string,
  at: number,
): Promise<FailoverRecord | null> {
  const key = failoverRecordKey(region);
  for (let attempt = 1; ; attempt++) {
    const current = await register.read<FailoverRecord>(key);
    if (!current || current.value.closedAt !== undefined) return current?.value ?? null;
    try {
      return (await register.compareAndSet(key, current, { ...current.value, closedAt: at })).value;
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}
