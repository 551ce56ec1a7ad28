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

/**
 * The record as the register keeps it: the moves grouped by new home, partitions as numbers, so that one
 * item holds a failover of every partition (65,536 moves as objects are ~3.5 MB, over DynamoDB's 400 KB
 * item; grouped, ~6 bytes each). A record written with `moves` (before) is read as it is.
 */
type StoredRecord = Omit<FailoverRecord, 'moves'> & {
  readonly moves?: readonly PlannedMove[];
  readonly movedTo?: Readonly<Record<string, readonly number[]>>;
};

/** Moves kept as objects up to this many (readable by code that predates `movedTo`, e.g. mid rolling deploy). */
const MOVES_AS_OBJECTS = 2_000;

function encode(record: FailoverRecord): StoredRecord {
  const { moves, ...rest } = record;
  if (moves.length <= MOVES_AS_OBJECTS) return record;
  const movedTo: Record<string, number[]> = {};
  for (const move of moves) {
    if (move.from !== record.region) return record; // not a failover's moves: keep them as they are
    const partitions = movedTo[move.to] ?? [];
    partitions.push(move.partition);
    movedTo[move.to] = partitions;
  }
  return { ...rest, movedTo };
}

function decode(stored: StoredRecord): FailoverRecord {
  const { movedTo, moves, ...rest } = stored;
  const expanded =
    moves ??
    Object.entries(movedTo ?? {}).flatMap(([to, partitions]) =>
      partitions.map((partition) => ({ partition, from: stored.region, to })),
    );
  return { ...rest, moves: [...expanded].sort((a, b) => a.partition - b.partition) };
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
  const stored = (await register.read<StoredRecord>(failoverRecordKey(region)))?.value;
  return stored ? decode(stored) : null;
}

/**
 * Writes the record unless an open one exists (then that one is kept: the first failover's watermarks
 * bound the RPO window, a re-run must not move them). Returns the record in force.
 */
export async function openFailoverRecord(
  register: QuorumRegister,
  record: FailoverRecord,
): Promise<FailoverRecord> {
  return openFailoverRecordOnceGathered(register, record.region, Promise.resolve(record));
}

/**
 * `openFailoverRecord` for a record still being gathered (the survivors' watermarks: a WAN round trip):
 * the first quorum read of the region's record runs meanwhile, saving a round trip. Safe in either
 * order: the write is a compare-and-set over that read, so a record opened in between makes it lose and
 * the next attempt reads again (and keeps the record found open).
 */
export async function openFailoverRecordOnceGathered(
  register: QuorumRegister,
  region: string,
  gathering: Promise<FailoverRecord>,
): Promise<FailoverRecord> {
  const key = failoverRecordKey(region);
  const [first, record] = await Promise.all([register.read<StoredRecord>(key), gathering]);
  if (record.region !== region) throw new RangeError(`a failover record of ${record.region}, not ${region}`);
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 ? first : await register.read<StoredRecord>(key);
    if (current && current.value.closedAt === undefined) return decode(current.value);
    try {
      return decode((await register.compareAndSet(key, current, encode(record))).value);
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
    const current = await register.read<StoredRecord>(key);
    if (!current || current.value.closedAt !== undefined) return current ? decode(current.value) : null;
    try {
      return decode((await register.compareAndSet(key, current, { ...current.value, closedAt: at })).value);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}
