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

  /** Synchronous peek for tests and the sandbox CLI. */
  peek<V>(key: string): RegisterRecord<V> | null {
    return (this.records.get(key) as RegisterRecord<V> | undefined) ?? null;
  }
}
