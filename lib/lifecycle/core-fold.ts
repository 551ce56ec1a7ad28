import { chainedRun } from '../commands/chain.ts';
import { foldRecord } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { archivedThrough, needsBase } from '../store/archived-stub.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateRecord } from '../store/state-store.ts';
import { mergeHistory, readArchivedEvents } from './archive.ts';
import type { ArchiveStore } from './archive-store.ts';
import { HistoryIncompleteError } from './errors.ts';
import { foldFullLog, SNAPSHOTS_TRIED } from './fold.ts';
import { confirmedSnapshot, recordOfSnapshot, type Snapshot } from './snapshot.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** What an archive-aware fold reads besides the log: a region's snapshots and archive, where it has them. */
export interface CoreFoldSources {
  readonly events: EventStore;
  readonly snapshots?: SnapshotStore | undefined;
  readonly archive?: ArchiveStore | undefined;
}

/** What a fold of a log that cannot start from seq 1 may start from (read once, before the log). */
export interface FoldBases {
  /** The newest snapshots (newest first, as many as a load tries). */
  readonly snapshots: readonly Snapshot[];
  /** The archived events of the aggregate (empty when the log holds no stub or there is no archive). */
  readonly archived: readonly EventEnvelope[];
}

/**
 * The row a core log folds to, whatever was archived: from seq 1 while the hot log holds every event whole;
 * else from the newest snapshot the log confirms at or above its last archived stub (the tail after it is
 * hot); else from the log with its stubs replaced by their archived copies. Neither: HistoryIncompleteError,
 * never a row folded from the middle of the log or over a stub.
 */
export function foldArchiveAware(
  aggregate: AnyAggregate,
  aggregateId: string,
  bases: FoldBases,
  log: readonly EventEnvelope[],
): StateRecord {
  if (!needsBase(log)) return foldFullLog(aggregate, aggregateId, log);
  const through = archivedThrough(log);
  const usable = bases.snapshots.filter((snapshot) => snapshot.seq >= through);
  const snapshot = confirmedSnapshot(aggregate, usable, log);
  if (snapshot) {
    const base = recordOfSnapshot(snapshot);
    return foldRecord(aggregate, base, chainedRun(base, log));
  }
  if (bases.archived.length > 0) {
    const full = mergeHistory(bases.archived, log);
    if (!needsBase(full)) return foldFullLog(aggregate, aggregateId, full);
  }
  throw new HistoryIncompleteError(
    aggregate.name,
    aggregateId,
    log[0]!.seq,
    through > 0 ? { archivedSeq: through } : undefined,
  );
}

/**
 * Reads what `foldArchiveAware` may start from for one aggregate of a region: its newest snapshots, and its
 * archived events when the hot log holds stubs (or no longer starts at seq 1). The returned fold is pure, so
 * a caller may apply it to the log read again and again (a retire, a guarded row rebuild).
 * Switch `rebuild-ignores-archive`: the archive is never read.
 * @example const fold = await coreLogFolder(cell, account, 'acc-1'); fold(await cell.events.loadStream(...))
 */
export async function coreLogFolder(
  cell: CoreFoldSources,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<(log: readonly EventEnvelope[]) => StateRecord> {
  const snapshots: Snapshot[] = [];
  if (cell.snapshots)
    for await (const snapshot of cell.snapshots.newestFirst(aggregate.name, aggregateId)) {
      snapshots.push(snapshot);
      if (snapshots.length >= SNAPSHOTS_TRIED) break;
    }
  let archived: EventEnvelope[] = [];
  if (cell.archive && !bugEnabled('rebuild-ignores-archive')) {
    const first = await firstLogged(cell.events, aggregate.name, aggregateId);
    if (first && needsBase([first]))
      archived = await readArchivedEvents(cell.archive, aggregate.name, aggregateId);
  }
  return (log) => foldArchiveAware(aggregate, aggregateId, { snapshots, archived }, log);
}

/** The oldest item of an aggregate's log (a stub there: the log was archived). */
async function firstLogged(events: EventStore, aggregateType: string, aggregateId: string) {
  for await (const page of events.pages(aggregateType, aggregateId, { pageSize: 1 })) return page[0];
  return undefined;
}
