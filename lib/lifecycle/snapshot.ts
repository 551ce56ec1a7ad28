import type { VersionVector } from '../clock/version-vector.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';

/** Version of the snapshot item's own layout (not of the aggregate's state: see `stateVersion`). */
export const SNAPSHOT_FORMAT = 1;

/**
 * A core aggregate's projection row at one point of its log, stored beside the log (table `snapshots`,
 * same pk, sk `V#<version>`): loading reads it and only the events after `lastSortKey`.
 */
export interface Snapshot {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Events folded (the row's version), and the core seq and sort key of the last one. */
  readonly version: number;
  readonly seq: number;
  readonly lastSortKey: string;
  /** HLC and id of the last event folded: the snapshot holds only while the log still has that event. */
  readonly head: string;
  readonly headEventId: string;
  /** Canonical JSON of the folded state. */
  readonly state: string;
  readonly vv: VersionVector;
  readonly causes?: readonly string[];
  /** The aggregate's `stateVersion` when the snapshot was taken. */
  readonly stateVersion: number;
  readonly format: number;
  readonly takenAt: string;
}

/** The aggregate's state-shape version (default 1). */
export function stateVersionOf(aggregate: AnyAggregate): number {
  return aggregate.stateVersion ?? 1;
}

/** Sort key of a snapshot: zero-padded version, so the newest sorts last. */
export function snapshotSortKey(version: number): string {
  return `V#${String(version).padStart(12, '0')}`;
}

/**
 * True when folding took the row from `before` to `after` events across a multiple of `every`: a command
 * of several events may jump over the exact multiple, and still owes its snapshot.
 */
export function snapshotDue(every: number | undefined, before: number, after: number): boolean {
  if (every === undefined || after <= before) return false;
  return Math.floor(after / every) > Math.floor(before / every);
}

/**
 * The snapshot of a core row whose last folded event is `last` (the row must come from a fold that ended
 * on it). Throws when they do not match: a snapshot naming another event than its state's would be stale.
 */
export function snapshotOf(
  aggregate: AnyAggregate,
  row: StateRecord,
  last: EventEnvelope,
  takenAt: Date = new Date(),
): Snapshot {
  if (aggregate.tier !== 'core')
    throw new Error(`snapshots are for core aggregates; "${aggregate.name}" is ${aggregate.tier}`);
  if (row.head !== last.hlc || row.seq !== last.seq)
    throw new Error(
      `snapshot of ${aggregate.name}#${row.aggregateId}: row head ${row.head}@${row.seq} is not event ${last.hlc}@${last.seq}`,
    );
  return {
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    version: row.version,
    seq: row.seq,
    lastSortKey: eventSortKey('core', last),
    head: last.hlc,
    headEventId: last.eventId,
    state: row.state,
    vv: row.vv,
    ...(row.causes ? { causes: row.causes } : {}),
    stateVersion: stateVersionOf(aggregate),
    format: SNAPSHOT_FORMAT,
    takenAt: takenAt.toISOString(),
  };
}

/** The projection row a snapshot stands for (the fold of the tail continues from it). */
export function recordOfSnapshot(snapshot: Snapshot): StateRecord {
  return {
    aggregateType: snapshot.aggregateType,
    aggregateId: snapshot.aggregateId,
    state: snapshot.state,
    version: snapshot.version,
    seq: snapshot.seq,
    head: snapshot.head,
    vv: snapshot.vv,
    lastSortKey: snapshot.lastSortKey,
    frozen: false,
    updatedAt: snapshot.takenAt,
    ...(snapshot.causes ? { causes: snapshot.causes } : {}),
  };
}

/**
 * The first of `snapshots` (newest first) that `log` confirms: its last event is in the log (same eventId at
 * its seq), taken with the aggregate's current state version and this format. Undefined when none is.
 */
export function confirmedSnapshot(
  aggregate: AnyAggregate,
  snapshots: readonly Snapshot[],
  log: readonly EventEnvelope[],
): Snapshot | undefined {
  return snapshots.find(
    (snapshot) =>
      snapshot.format === SNAPSHOT_FORMAT &&
      snapshot.stateVersion === stateVersionOf(aggregate) &&
      log.find((event) => event.seq === snapshot.seq)?.eventId === snapshot.headEventId,
  );
}
