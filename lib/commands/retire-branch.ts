import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ConflictRecord, ConflictRecordPort } from '../conflict/record-store.ts';
import { CONFLICT_STATUS, type ConflictPair } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import { HistoryIncompleteError } from '../lifecycle/errors.ts';
import { confirmedSnapshot, recordOfSnapshot, type Snapshot } from '../lifecycle/snapshot.ts';
import type { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isTransactionConflict } from '../store/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import type { StateRecord, StateStore } from '../store/state-store.ts';
import { chainedRun } from './chain.ts';
import { ContentionError, PeerRefusedError } from './errors.ts';
import { emptyRecord, foldRecord } from './execute.ts';
import { sealCheck } from './quorum-peer-dynamodb.ts';

/** The one region whose core log loses events: its stores and raw access to its events table. */
export interface CoreLogCell {
  readonly region: string;
  readonly events: EventStore;
  readonly states: StateStore;
  /** `control`: its copy of the partition map, which a retire for a quorum copy's `writer` checks. */
  readonly tables: {
    readonly client: DynamoDBDocumentClient;
    readonly events: string;
    readonly control?: string;
  };
  /** Its snapshots (lib/lifecycle): a log whose oldest events were archived is folded from one. */
  readonly snapshots?: SnapshotStore;
}

/** A conflict record of a retired core event: the pair, and both full envelopes for the operator. */
export interface CoreBranchRecord extends ConflictPair {
  readonly kind: 'core-branch';
  /** Why the event lost (`fork`: another event holds its seq on the winning branch; `orphan-after-fork`). */
  readonly reason: string;
  /** `orphan`: the retired event, exactly as it was logged; `kept`: the winning branch's event it lost to. */
  readonly versions: { readonly orphan: EventEnvelope; readonly kept: EventEnvelope };
}

export interface RetireCoreBranchInput {
  /** The region whose log holds the losing events. */
  readonly cell: CoreLogCell;
  /** The manual conflict queue of every region: each retired event gets a record in each, first. */
  readonly queues: readonly ConflictRecordPort[];
  readonly aggregate: AnyAggregate;
  /** The events to take out of `cell`'s log (a losing branch and whatever was written on top of it). */
  readonly losing: readonly EventEnvelope[];
  /** The winning branch of the same aggregate (the home's log), to name what each event lost to. */
  readonly winning: readonly EventEnvelope[];
  readonly reason: string;
  /**
   * A quorum copy's writer: each delete is one transaction with the seal check of the region's partition
   * entry (not past this epoch); once sealed, the retire stops (PeerRefusedError `sealed`) after rebuilding
   * the row. Needs `cell.tables.control`.
   */
  readonly writer?: { readonly epoch: number };
  readonly now?: () => Date;
}

export interface RetiredBranch {
  /** Events deleted from the log by this call (one no longer there, or replaced, is skipped). */
  readonly retired: readonly EventEnvelope[];
  /** The conflict record of each losing event: the event and the one it lost to. */
  readonly queued: ReadonlyArray<{ readonly eventId: string; readonly seq: number; readonly kept: string }>;
  /** The region's projection row afterwards: the fold of what its log still chains (null: nothing to do). */
  readonly row: StateRecord | null;
}

/** The winning event a losing one is paired with: the one at its seq, else the one at the fork point. */
function counterpart(event: EventEnvelope, forkSeq: number, winning: readonly EventEnvelope[]) {
  return (
    winning.find((w) => w.seq === event.seq) ??
    winning.find((w) => w.seq === forkSeq) ??
    winning.at(-1) ??
    event
  );
}

function recordOf(orphan: EventEnvelope, kept: EventEnvelope, reason: string): CoreBranchRecord {
  const [a, b] = orphan.eventId <= kept.eventId ? [orphan, kept] : [kept, orphan];
  return {
    aggregateType: orphan.aggregateType,
    aggregateId: orphan.aggregateId,
    eventIds: [a.eventId, b.eventId],
    hlcs: [a.hlc, b.hlc],
    origins: [a.origin, b.origin],
    resolvedBy: null,
    kind: 'core-branch',
    reason,
    versions: { orphan, kept },
  };
}

/**
 * The core-branch records the queues already hold for an aggregate, by the eventId of the event each
 * retired (a resolved one preferred: an operator's decision stands). A retired event keeps one record
 * whatever it is paired with later: a region restored to before the retire holds the event again, and
 * its second retire may pair it with a newer winning event (a new pair id) while the first record, the
 * one an operator may be working on, lives on in every queue.
 */
async function recordsOfRetired(
  queues: readonly ConflictRecordPort[],
  aggregateType: string,
  aggregateId: string,
): Promise<Map<string, ConflictRecord & CoreBranchRecord>> {
  const byOrphan = new Map<string, ConflictRecord & CoreBranchRecord>();
  if (bugEnabled('retire-pairs-retired-event-again')) return byOrphan;
  const lists = await Promise.all(queues.map((q) => q.listForAggregate(aggregateType, aggregateId)));
  for (const record of lists.flat()) {
    const branch = record as ConflictRecord & Partial<CoreBranchRecord>;
    const orphan = branch.kind === 'core-branch' ? branch.versions?.orphan?.eventId : undefined;
    if (!orphan || record.policy) continue;
    const known = byOrphan.get(orphan);
    const resolved = record.status === CONFLICT_STATUS.resolved;
    // The first (smallest) pair id, so that every region keeps the same one.
    const first = known
      ? known.status !== CONFLICT_STATUS.resolved && (resolved || sortKey(record) < sortKey(known))
      : true;
    if (first) byOrphan.set(orphan, branch as ConflictRecord & CoreBranchRecord);
  }
  return byOrphan;
}

const sortKey = (r: ConflictPair) => r.eventIds.join('#');

/**
 * Gives every queue `existing`, the record a retired event already has (resolved where it is resolved
 * anywhere), instead of a new pair.
 */
async function requeue(
  queues: readonly ConflictRecordPort[],
  existing: ConflictRecord & CoreBranchRecord,
  at: string,
): Promise<void> {
  const { status, detectedAt, resolvedBy, ...rest } = existing;
  const { resolvedAt: _at, ...pair } = rest as typeof rest & { resolvedAt?: string };
  for (const queue of queues) {
    if (status === CONFLICT_STATUS.resolved && resolvedBy !== null)
      await queue.markResolved({ ...pair, resolvedBy }, at);
    else await queue.createOpen({ ...pair, resolvedBy: null }, detectedAt);
  }
}

/**
 * Deletes one core event from the log, only if the slot still holds exactly that event (false otherwise)
 * and, for a quorum copy's `writer`, only while the region is not sealed past its epoch (PeerRefusedError).
 */
/**
 * `deleteOnce`, again after a conflict with a concurrent transaction on the slot (a row catch-up's check of
 * it: DynamoDB refuses a write on an item an in-flight transaction holds), a few times with backoff.
 */
async function deleteLogged(
  cell: CoreLogCell,
  event: EventEnvelope,
  writer: { readonly epoch: number } | undefined,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteOnce(cell, event, writer);
    } catch (error) {
      if (!isTransactionConflict(error) || attempt >= 6) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    }
  }
}

async function deleteOnce(
  cell: CoreLogCell,
  event: EventEnvelope,
  writer: { readonly epoch: number } | undefined,
): Promise<boolean> {
  const remove = {
    TableName: cell.tables.events,
    Key: { pk: aggregateKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
    ConditionExpression: 'eventId = :id',
    ExpressionAttributeValues: { ':id': event.eventId },
  };
  try {
    if (!writer) await cell.tables.client.send(new DeleteCommand(remove));
    else {
      const control = cell.tables.control;
      if (!control) throw new Error(`retiring at ${cell.region} for a writer needs its control table`);
      const seal = sealCheck({ control }, event.partition, writer.epoch);
      await cell.tables.client.send(new TransactWriteCommand({ TransactItems: [{ Delete: remove }, seal] }));
    }
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    if (!(error instanceof TransactionCanceledException)) throw error;
    if (error.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed')
      throw new PeerRefusedError(cell.region, 'sealed');
    if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
    throw error;
  }
}

/** A core row's fold of its log: the chained run from seq 1 (up to the first gap or foreign branch). */
export function foldCoreLog(aggregate: AnyAggregate, aggregateId: string, log: readonly EventEnvelope[]) {
  const empty = emptyRecord(aggregate, aggregateId);
  return foldRecord(aggregate, empty, chainedRun(empty, log));
}

/** Snapshots an aggregate keeps (lib/lifecycle SNAPSHOTS_TRIED). */
const SNAPSHOTS_KEPT = 3;

/**
 * The fold of a core log for a cell with snapshots: from seq 1 while the log starts there, else from the
 * newest snapshot the log confirms (its oldest events were archived); neither: HistoryIncompleteError,
 * never a row folded from the middle of the log. Undefined (the plain fold) for a cell without snapshots.
 */
export async function archiveAwareFold(
  cell: Pick<CoreLogCell, 'snapshots'>,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<((log: readonly EventEnvelope[]) => StateRecord) | undefined> {
  if (!cell.snapshots) return undefined;
  const snapshots: Snapshot[] = [];
  for await (const snapshot of cell.snapshots.newestFirst(aggregate.name, aggregateId)) {
    snapshots.push(snapshot);
    if (snapshots.length >= SNAPSHOTS_KEPT) break;
  }
  return (log) => {
    const first = log[0];
    if (!first || first.seq === 1) return foldCoreLog(aggregate, aggregateId, log);
    const snapshot = confirmedSnapshot(aggregate, snapshots, log);
    if (!snapshot) throw new HistoryIncompleteError(aggregate.name, aggregateId, first.seq);
    const base = recordOfSnapshot(snapshot);
    return foldRecord(aggregate, base, chainedRun(base, log));
  };
}

/**
 * Rebuilds an aggregate's row from its log with `fold` (default: the core fold) and stores it over whatever
 * row is there, unless that row already has the same version, head and state; the write is guarded on the
 * row it replaces (version and head) and retried when a writer moves it meanwhile. Returns the row stored.
 */
export async function rebuildRowFromLog(
  cell: Pick<CoreLogCell, 'events' | 'states'>,
  aggregate: AnyAggregate,
  aggregateId: string,
  fold: (log: readonly EventEnvelope[]) => StateRecord = (log) => foldCoreLog(aggregate, aggregateId, log),
): Promise<StateRecord> {
  for (let attempt = 1; ; attempt++) {
    const stored = await cell.states.getState(aggregate.name, aggregateId);
    const log = await cell.events.loadStream(aggregate.name, aggregateId);
    const rebuilt = fold(log);
    const same =
      stored &&
      stored.version === rebuilt.version &&
      stored.head === rebuilt.head &&
      stored.state === rebuilt.state;
    if (same) return stored;
    // Only while the log still holds the newest event folded (a retire deleting it meanwhile skips its own
    // rebuild when the row it reads is already that fold): as catchUpCoreRow's writes.
    const newest = log.find((e) => e.seq === rebuilt.seq && e.hlc === rebuilt.head);
    const expected = stored ?? { version: 0 };
    const written =
      newest && !bugEnabled('unchecked-catch-up')
        ? await cell.states.putStateIfChecked(rebuilt, expected, [cell.events.slotHolds(newest)])
        : await cell.states.putStateIf(rebuilt, expected);
    if (written) return rebuilt;
    if (attempt >= 5) throw new ContentionError(aggregateId, attempt);
  }
}

/**
 * THE way a core event leaves a log (a losing branch at Repair or Failback, a quorum-ack copy the home
 * never acknowledged): every losing event first gets a conflict record carrying its full envelope in the
 * manual conflict queue of every region given (`CoreBranchRecord`, idempotent; one a queue already holds
 * for that very event is reused, whatever it was paired with), then is deleted from
 * `cell`'s log (newest first, each only while its slot still holds that very event), and the region's
 * row is rebuilt from what its log still chains. Nothing is deleted before it is queued everywhere.
 * @example await retireCoreBranch({ cell, queues, aggregate, losing: [x], winning: homeLog, reason: 'fork' })
 */
export async function retireCoreBranch(input: RetireCoreBranchInput): Promise<RetiredBranch> {
  const { cell, aggregate } = input;
  const losing = [...input.losing].sort((a, b) => a.seq - b.seq);
  if (losing.length === 0) return { retired: [], queued: [], row: null };
  const aggregateId = losing[0]!.aggregateId;
  const at = (input.now ?? (() => new Date()))().toISOString();
  const queued: Array<{ eventId: string; seq: number; kept: string }> = [];
  const held = await recordsOfRetired(input.queues, aggregate.name, aggregateId);
  for (const event of losing) {
    const existing = held.get(event.eventId);
    if (existing) {
      await requeue(input.queues, existing, at);
      queued.push({ eventId: event.eventId, seq: event.seq, kept: existing.versions.kept.eventId });
      continue;
    }
    const kept = counterpart(event, losing[0]!.seq, input.winning);
    const record = recordOf(event, kept, input.reason);
    for (const queue of input.queues) await queue.createOpen(record, at);
    queued.push({ eventId: event.eventId, seq: event.seq, kept: kept.eventId });
  }
  const retired: EventEnvelope[] = [];
  let stopped: PeerRefusedError | undefined;
  try {
    for (const event of [...losing].reverse())
      if (await deleteLogged(cell, event, input.writer)) retired.push(event);
  } catch (error) {
    if (!(error instanceof PeerRefusedError)) throw error;
    stopped = error;
  }
  // Also when a seal stopped the retire midway: the row never claims more than the log still chains.
  const row = await rebuildRowFromLog(
    cell,
    aggregate,
    aggregateId,
    await archiveAwareFold(cell, aggregate, aggregateId),
  );
  if (stopped) throw stopped;
  return { retired: retired.reverse(), queued, row };
}
