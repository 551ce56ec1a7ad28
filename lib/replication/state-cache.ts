import { aggregateKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';

/** Rows kept at most (a warm applier sees a working set of hot aggregates, not every aggregate). */
export const DEFAULT_STATE_CACHE_SIZE = 10_000;

/**
 * The projection rows this applier last read or wrote, per state table and aggregate, so that an event
 * following one this process applied costs no GetItem. A cached row is only ever a guess: every write
 * built on it carries an exact `version = expected` guard, so a row moved by anyone else (a local
 * command, another applier instance, a runbook) fails the guard and the applier reads the row again.
 * Least recently used rows are dropped beyond `maxEntries`.
 */
export class StateRecordCache {
  private readonly rows = new Map<string, StateRecord>();

  constructor(private readonly maxEntries = DEFAULT_STATE_CACHE_SIZE) {}

  /** The row last seen for an aggregate of `table`, if any. */
  get(table: string, aggregateType: string, aggregateId: string): StateRecord | undefined {
    const key = cacheKey(table, aggregateType, aggregateId);
    const row = this.rows.get(key);
    if (row) {
      // Re-insert: Map iteration order is insertion order, so the oldest key is the least recently used.
      this.rows.delete(key);
      this.rows.set(key, row);
    }
    return row;
  }

  /** Remembers a row just read from or written to `table`. */
  set(table: string, record: StateRecord): void {
    const key = cacheKey(table, record.aggregateType, record.aggregateId);
    this.rows.delete(key);
    this.rows.set(key, record);
    if (this.rows.size > this.maxEntries) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
  }

  /** Forgets an aggregate's row (it turned out stale, or a write's outcome is unknown). */
  delete(table: string, aggregateType: string, aggregateId: string): void {
    this.rows.delete(cacheKey(table, aggregateType, aggregateId));
  }
}

function cacheKey(table: string, aggregateType: string, aggregateId: string): string {
  return `${table}\u0000${aggregateKey(aggregateType, aggregateId)}`;
}
