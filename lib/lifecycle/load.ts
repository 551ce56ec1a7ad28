import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { archivedThrough, needsBase } from '../store/archived-stub.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord } from '../store/state-store.ts';
import { mergeHistory, readArchivedEvents } from './archive.ts';
import type { ArchiveStore } from './archive-store.ts';
import { HistoryIncompleteError } from './errors.ts';
import { foldFromSnapshot, foldFullLog, SNAPSHOTS_TRIED, type SnapshotRejection } from './fold.ts';
import type { Snapshot } from './snapshot.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** What a load reads: the log, and where there are any, the snapshots and the archive. */
export interface LoadDeps {
  readonly events: EventStore;
  readonly snapshots?: SnapshotStore;
  readonly archive?: ArchiveStore;
}

export interface LoadedAggregate {
  readonly record: StateRecord;
  /** The snapshot the fold started from, or null for a fold of the full history. */
  readonly snapshot: Snapshot | null;
  /** Events folded on top of the snapshot (or of the empty state). */
  readonly folded: number;
  /** Snapshots tried and not used, newest first, with why. */
  readonly rejected: ReadonlyArray<{ readonly version: number; readonly reason: SnapshotRejection }>;
}

/**
 * Loads a core aggregate's row from its log: the newest snapshot the log confirms and the tail after it
 * (a Query from the snapshot's last event on), else the full history (archive + hot table). Other tiers
 * have no snapshots; their rows are materialized from the whole log (lib/conflict).
 * @example const { record } = await loadAggregate({ events, snapshots }, account, 'acc-1')
 */
export async function loadAggregate(
  deps: LoadDeps,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<LoadedAggregate> {
  const rejected: Array<{ version: number; reason: SnapshotRejection }> = [];
  if (aggregate.tier === 'core' && deps.snapshots) {
    for await (const snapshot of deps.snapshots.newestFirst(aggregate.name, aggregateId)) {
      const log = await logFrom(deps.events, snapshot);
      const fold = foldFromSnapshot(aggregate, snapshot, log);
      if ('record' in fold) return { record: fold.record, snapshot, folded: fold.tail, rejected };
      rejected.push({ version: snapshot.version, reason: fold.rejected });
      if (rejected.length >= SNAPSHOTS_TRIED) break;
    }
  }
  const history = await fullHistory(deps, aggregate.name, aggregateId);
  const first = history[0];
  if (aggregate.tier === 'core' && first && needsBase(history)) {
    const archivedSeq = archivedThrough(history);
    throw new HistoryIncompleteError(
      aggregate.name,
      aggregateId,
      first.seq,
      archivedSeq > 0 ? { archivedSeq } : undefined,
    );
  }
  const record = foldFullLog(aggregate, aggregateId, history);
  return { record, snapshot: null, folded: record.version, rejected };
}

/** The log from the snapshot's last event on (core keys are dense: the key before seq n is seq n - 1). */
function logFrom(events: EventStore, snapshot: Snapshot): Promise<EventEnvelope[]> {
  const before = eventSortKey('core', { seq: snapshot.seq - 1, hlc: '' });
  return events.loadStream(snapshot.aggregateType, snapshot.aggregateId, { afterSortKey: before });
}

/**
 * Every event an aggregate ever logged here, in log order: the archived ones (every object under the
 * aggregate's type, by id) merged with the hot table's, each archived stub replaced by its archived copy.
 * The restore / replay path of audit and repair. A stub the archive does not hold stays a stub.
 */
export async function fullHistory(
  deps: LoadDeps,
  aggregateType: string,
  aggregateId: string,
): Promise<EventEnvelope[]> {
  const hot = await deps.events.loadStream(aggregateType, aggregateId);
  if (!deps.archive) return hot;
  const archived = await readArchivedEvents(deps.archive, aggregateType, aggregateId);
  if (archived.length === 0) return hot;
  return mergeHistory(archived, hot);
}
