import { type RegisterRecord, replicaAccepts } from './register-record.ts';

/**
 * One region's copy of the control state (port). The production adapter is the region's control table
 * (`DynamoControlReplica`); tests and the sandbox may use `InMemoryControlReplica` or wrap either with
 * faults.
 */
export interface ControlReplica {
  readonly region: string;
  /** The record stored under `key`, or null when there is none. */
  read<V>(key: string): Promise<RegisterRecord<V> | null>;
  /** Stores `record` if `replicaAccepts(stored, record)`; true when stored (or already there). */
  write<V>(key: string, record: RegisterRecord<V>): Promise<boolean>;
  /** Optional batch read in one round trip: the record (or null) of every key. */
  readMany?<V>(keys: readonly string[]): Promise<ReadonlyMap<string, RegisterRecord<V> | null>>;
  /**
   * Optional batch write in one round trip: per item, whether it was stored (same rule as `write`); false
   * when refused or, with `writeOutcomes`, when the item's write failed.
   */
  writeMany?<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<boolean[]>;
  /**
   * Optional batch write telling per item stored, refused (its condition failed) or failed (an error,
   * e.g. a transaction conflict that outlasted the retries): one item's error fails only that item.
   */
  writeOutcomes?<V>(items: ReadonlyArray<ReplicaWrite<V>>): Promise<WriteOutcome[]>;
  /**
   * Optional: every record whose key begins with `prefix`, each read as `read` would (strongly
   * consistent), keys with none left out: a read of keys not known in advance.
   */
  scan?<V>(prefix: string): Promise<ReadonlyMap<string, RegisterRecord<V>>>;
}

/** What a batch write did with one item: stored (or already there), refused by the replica rule, or failed. */
export type WriteOutcome = 'stored' | 'refused' | 'failed';

/** One record to store under `key` (a batch write item). */
export interface ReplicaWrite<V> {
  readonly key: string;
  readonly record: RegisterRecord<V>;
}

/** Reads many keys from a replica: its batch read when it has one, else one read per key, concurrently. */
export async function readFromReplica<V>(
  replica: ControlReplica,
  keys: readonly string[],
): Promise<ReadonlyMap<string, RegisterRecord<V> | null>> {
  if (replica.readMany) return replica.readMany<V>(keys);
  const records = await Promise.all(keys.map((key) => replica.read<V>(key)));
  return new Map(keys.map((key, i) => [key, records[i] ?? null]));
}

/**
 * Writes many records to a replica, per item stored / refused / failed: its `writeOutcomes` when it has
 * one, else its batch write (which fails or succeeds as a whole), else one write per item, concurrently
 * (an item's error fails that item).
 */
export async function writeToReplica<V>(
  replica: ControlReplica,
  items: ReadonlyArray<ReplicaWrite<V>>,
): Promise<WriteOutcome[]> {
  if (replica.writeOutcomes) return replica.writeOutcomes(items);
  const verdict = (stored: boolean): WriteOutcome => (stored ? 'stored' : 'refused');
  if (replica.writeMany) return (await replica.writeMany(items)).map(verdict);
  return Promise.all(
    items.map((item) => replica.write(item.key, item.record).then(verdict, (): WriteOutcome => 'failed')),
  );
}

/** A replica in memory with the same write rule as the DynamoDB adapter. */
export class InMemoryControlReplica implements ControlReplica {
  private readonly records = new Map<string, RegisterRecord<unknown>>();

  constructor(readonly region: string) {}

  /** The record stored under `key`, or null. */
  async read<V>(key: string): Promise<RegisterRecord<V> | null> {
    return (this.records.get(key) as RegisterRecord<V> | undefined) ?? null;
  }

  /** Conditional write (see `replicaAccepts`). */
  async write<V>(key: string, record: RegisterRecord<V>): Promise<boolean> {
    if (!replicaAccepts(this.records.get(key) ?? null, record)) return false;
    this.records.set(key, record);
    return true;
  }

  /** Every record whose key begins with `prefix`. */
  async scan<V>(prefix: string): Promise<ReadonlyMap<string, RegisterRecord<V>>> {
    const found = new Map<string, RegisterRecord<V>>();
    for (const [key, record] of this.records)
      if (key.startsWith(prefix)) found.set(key, record as RegisterRecord<V>);
    return found;
  }

  /** Synchronous peek for tests and the sandbox CLI. */
  peek<V>(key: string): RegisterRecord<V> | null {
    return (this.records.get(key) as RegisterRecord<V> | undefined) ?? null;
  }
}
