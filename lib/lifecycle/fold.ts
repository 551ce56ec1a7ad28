import { chainedRun } from '../commands/chain.ts';
import { emptyRecord, foldRecord } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { StateRecord } from '../store/state-store.ts';
import { recordOfSnapshot, SNAPSHOT_FORMAT, type Snapshot, stateVersionOf } from './snapshot.ts';

/** Why a snapshot was not used (the load then tries an older one, then the full history). */
export type SnapshotRejection = 'format' | 'state-version' | 'head-not-in-log' | 'archived-tail';

export type SnapshotFold =
  | { readonly record: StateRecord; readonly tail: number }
  | { readonly rejected: SnapshotRejection };

/**
 * The row a core aggregate's log folds to, from a snapshot and the log from the snapshot's last event on
 * (`log[0]` must be that very event: same eventId). A snapshot whose event the log no longer holds (a
 * retired branch, a rewritten slot) or taken with another state shape is rejected, never folded: a
 * snapshot must never change the result of the fold.
 */
export function foldFromSnapshot(
  aggregate: AnyAggregate,
  snapshot: Snapshot,
  log: readonly EventEnvelope[],
): SnapshotFold {
  if (snapshot.format !== SNAPSHOT_FORMAT) return { rejected: 'format' };
  if (snapshot.stateVersion !== stateVersionOf(aggregate)) return { rejected: 'state-version' };
  if (!bugEnabled('unchecked-snapshot') && log[0]?.eventId !== snapshot.headEventId)
    return { rejected: 'head-not-in-log' };
  // A snapshot below the archive point: its tail holds stubs (payloads in the archive), not foldable here.
  if (log.slice(1).some(isArchivedStub)) return { rejected: 'archived-tail' };
  const from = recordOfSnapshot(snapshot);
  const tail = chainedRun(from, log);
  return { record: foldRecord(aggregate, from, tail), tail: tail.length };
}

/** The full fold of a core log from seq 1 (what every snapshot-based load must equal). */
export function foldFullLog(
  aggregate: AnyAggregate,
  aggregateId: string,
  log: readonly EventEnvelope[],
): StateRecord {
  const empty = emptyRecord(aggregate, aggregateId);
  return foldRecord(aggregate, empty, chainedRun(empty, log));
}

/** A row's content, without `updatedAt` (when it was folded): what two folds of one log must agree on. */
export function foldedContent(record: StateRecord): Omit<StateRecord, 'updatedAt'> {
  const { updatedAt: _at, ...content } = record;
  return content;
}

/** How many snapshots a load tries (newest first) before it folds the full history. */
export const SNAPSHOTS_TRIED = 3;

/**
 * The pure form of `loadAggregate` over a log held in memory: the newest of `snapshots` (newest first)
 * the log confirms, folded with the events after it; else the full fold.
 */
export function foldLatest(
  aggregate: AnyAggregate,
  aggregateId: string,
  snapshots: readonly Snapshot[],
  log: readonly EventEnvelope[],
): { readonly record: StateRecord; readonly snapshot: Snapshot | null } {
  for (const snapshot of snapshots.slice(0, SNAPSHOTS_TRIED)) {
    const fold = foldFromSnapshot(
      aggregate,
      snapshot,
      log.filter((event) => event.seq >= snapshot.seq),
    );
    if ('record' in fold) return { record: fold.record, snapshot };
  }
  return { record: foldFullLog(aggregate, aggregateId, log), snapshot: null };
}
