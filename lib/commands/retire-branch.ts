import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ConflictRecord, ConflictRecordPort } from '../conflict/record-store.ts';
import { CONFLICT_STATUS, type ConflictPair } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import { coreLogFolder } from '../lifecycle/core-fold.ts';
import { ForkBelowArchiveError } from '../lifecycle/errors.ts';
import type { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { isTransactionConflict } from '../store/errors.ts';
import { type EventStore, MAX_TRANSACTION_ITEMS } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import { guardedStatePut, type StateRecord, type StateStore } from '../store/state-store.ts';
import { chainedRun } from './chain.ts';
import { ContentionError, HomeMovedError, PeerRefusedError } from './errors.ts';
import { emptyRecord, foldRecord } from './execute.ts';
import { sealCheck } from './quorum-peer-dynamodb.ts';
import {
  type CreatedRecord,
  chainedAbove,
  ownerCheck,
  type RetireOwner,
  restoreWithdrawn,
  withdrawCreated,
} from './retire-guards.ts';

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
  readonly snapshots?: SnapshotStore | undefined;
  /** Its archive (lib/lifecycle): the payloads of the log's archived stubs, when no snapshot covers them. */
  readonly archive?: ArchiveStore | undefined;
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
   * A quorum copy's writer: each retire transaction also checks the seal of the region's partition entry
   * (not past this epoch); once sealed, the retire stops (PeerRefusedError `sealed`, nothing of that chunk
   * deleted) after rebuilding the row. Needs `cell.tables.control`.
   */
  readonly writer?: { readonly epoch: number };
  /**
   * The partition's owner as the caller read it when it decided the winning branch (Repair, Failback): each
   * retire transaction also checks that the region's copy of the partition entry still names it; once the
   * home moved, the retire stops (HomeMovedError, nothing of that chunk deleted). Needs `cell.tables.control`.
   */
  readonly owner?: RetireOwner;
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

/** Items of one retire transaction besides its deletes: the row, the slot above and the row's newest. */
const RETIRE_FIXED_ITEMS = 4;
/** Deletes per retire transaction (DynamoDB's 100 items, less the row, the two slot checks and the seal). */
const RETIRE_CHUNK = MAX_TRANSACTION_ITEMS - RETIRE_FIXED_ITEMS;
type RetireItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Why one retire transaction did not commit: something moved (read again) or the region is sealed. */
type RetireOutcome = 'done' | 'moved' | 'sealed' | 'home-moved';

/**
 * One retire step, one transaction: deletes `chunk` (the newest events of the losing branch still in the
 * log, each only while its slot holds that very event), checks the slot above the newest one is free (no
 * event was written on top meanwhile: it would be left in the log, chained to nothing, in no queue), and
 * writes the row folded from what the log keeps (only while the stored row is still the one read, and the
 * newest event it folds is still logged). For a quorum copy's `writer`, also the seal check of its
 * partition entry. No applier, catch-up or direct delivery can thus see the log without the chunk and the
 * row still claiming it, or the chunk deleted with an event above it.
 */
interface RetireStep {
  readonly cell: CoreLogCell;
  readonly aggregate: AnyAggregate;
  /** The newest events of the losing branch still in the log (at most RETIRE_CHUNK), oldest first. */
  readonly chunk: readonly EventEnvelope[];
  /** The log read without `chunk`: what the row is folded from. */
  readonly kept: readonly EventEnvelope[];
  readonly fold: (log: readonly EventEnvelope[]) => StateRecord;
  readonly writer: { readonly epoch: number } | undefined;
  readonly owner: RetireOwner | undefined;
  /** The event logged right above `chunk` that does not go with it (not of the branch): checked in place. */
  readonly onTop: EventEnvelope | undefined;
}

async function retireChunk(step: RetireStep): Promise<RetireOutcome> {
  const { cell, writer, owner } = step;
  const items = await retireItems(step);
  const partition = step.chunk.at(-1)!.partition;
  const sealAt = items.length;
  if (writer) items.push(sealCheck({ control: controlOf(cell) }, partition, writer.epoch));
  const ownerAt = items.length;
  if (owner && !bugEnabled('retire-ignores-home-move'))
    items.push(ownerCheck(controlOf(cell), partition, owner));
  try {
    await cell.tables.client.send(new TransactWriteCommand({ TransactItems: items }));
    return 'done';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) {
      if (isTransactionConflict(error) || error instanceof ConditionalCheckFailedException) return 'moved';
      throw error;
    }
    const reasons = error.CancellationReasons ?? [];
    if (writer && reasons[sealAt]?.Code === 'ConditionalCheckFailed') return 'sealed';
    if (owner && reasons[ownerAt]?.Code === 'ConditionalCheckFailed') return 'home-moved';
    if (reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict'))
      return 'moved';
    throw error;
  }
}

function controlOf(cell: CoreLogCell): string {
  const control = cell.tables.control;
  if (!control) throw new Error(`a guarded retire at ${cell.region} needs its control table`);
  return control;
}

/** The row (put as folded from `kept`, or back as it is), the slot checks and the chunk's deletes. */
async function retireItems({ cell, aggregate, chunk, kept, fold, onTop }: RetireStep): Promise<RetireItem[]> {
  const newest = chunk.at(-1)!;
  const stored = await cell.states.getState(aggregate.name, newest.aggregateId);
  const rebuilt = fold(kept);
  const same =
    stored !== undefined &&
    stored.version === rebuilt.version &&
    stored.head === rebuilt.head &&
    stored.state === rebuilt.state;
  const expected = stored ? { version: stored.version, head: stored.head } : { version: 0 };
  // The row unchanged is put back as it is (a Put, not a ConditionCheck: the grants of every retiring
  // function already allow it; a put that changes nothing leaves no stream record).
  const items: RetireItem[] = [guardedStatePut(cell.states.table(), same ? stored : rebuilt, expected)];
  const folded = kept.find((e) => e.seq === rebuilt.seq && e.hlc === rebuilt.head);
  if (folded && !same) items.push(cell.events.slotHolds(folded));
  items.push(
    onTop
      ? cell.events.slotHolds(onTop)
      : cell.events.slotFree(newest.aggregateType, newest.aggregateId, newest.seq + 1),
  );
  for (const event of chunk)
    items.push({
      Delete: {
        TableName: cell.tables.events,
        Key: { pk: aggregateKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
        ConditionExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': event.eventId },
      },
    });
  return items;
}

/** Attempts of a retire (each reads the log again) before it gives up with a ContentionError. */
const RETIRE_ATTEMPTS = 8;

interface QueueContext {
  /** The seq the branch forks at (a later event without a counterpart at its seq is paired with it). */
  readonly forkSeq: number;
  readonly at: string;
  readonly queued: Array<{ eventId: string; seq: number; kept: string }>;
  /** The records this call created (withdrawn again where the retire is refused or fails). */
  readonly created: CreatedRecord[];
  /**
   * Each queued event's record as this call queued it (`existing`: one the queues already held, requeued):
   * made sure of again once the event is deleted, whatever a concurrent refused retire withdrew meanwhile.
   */
  readonly records: Map<string, { readonly record: CoreBranchRecord; readonly existing?: ExistingRecord }>;
  /** Set once the created records were taken back (refused or failed): not twice. */
  takenBack: boolean;
}

type ExistingRecord = ConflictRecord & CoreBranchRecord;

/** The records of events found on top of the losing branch at a retire's read: queued before their delete. */
async function queueNew(
  input: RetireCoreBranchInput,
  events: readonly EventEnvelope[],
  { forkSeq, at, queued, created, records }: QueueContext,
): Promise<void> {
  const held = await recordsOfRetired(input.queues, input.aggregate.name, events[0]!.aggregateId);
  for (const event of events) {
    const existing = held.get(event.eventId);
    if (existing) {
      await requeue(input.queues, existing, at);
      records.set(event.eventId, { record: existing, existing });
      queued.push({ eventId: event.eventId, seq: event.seq, kept: existing.versions.kept.eventId });
      continue;
    }
    const kept = counterpart(event, forkSeq, input.winning);
    const record = recordOf(event, kept, input.reason);
    for (const queue of input.queues)
      if ((await queue.createOpen(record, at)) || (await reclaimReversed(queue, record, at)))
        created.push({ queue, pair: record, eventId: event.eventId });
    records.set(event.eventId, { record });
    queued.push({ eventId: event.eventId, seq: event.seq, kept: kept.eventId });
  }
}

/**
 * The pair `record` needs is taken in `queue` (createOpen answered false): by a record of this very event,
 * fine; by a stale OPEN record naming the other event of the pair as the lost one (a retire of it failed
 * after queueing, then the home moved to its branch: it won), that record is rewritten to name this event
 * (true: this call now owns it). A resolved one stays (an operator's decision). Switch
 * `failed-retire-keeps-records`: the taken pair is left as it is (the event leaves the log under a record
 * naming the other one as lost).
 */
async function reclaimReversed(queue: ConflictRecordPort, record: CoreBranchRecord, at: string) {
  if (bugEnabled('failed-retire-keeps-records') || !queue.replaceOpen) return false;
  const key = sortKey(record);
  const taken = (await queue.listForAggregate(record.aggregateType, record.aggregateId)).find(
    (r) => sortKey(r) === key,
  ) as (ConflictRecord & Partial<CoreBranchRecord>) | undefined;
  const was = taken?.versions?.orphan?.eventId;
  if (taken?.kind !== 'core-branch' || taken.status !== CONFLICT_STATUS.open || taken.policy) return false;
  if (was === undefined || was === record.versions.orphan.eventId) return false;
  return queue.replaceOpen(record, was, at);
}

/**
 * After a chunk's transaction committed: each deleted event's record in every queue, again (idempotent). A
 * concurrent retire of the same branch refused meanwhile may have withdrawn records this call found there
 * and relied on. Switch `retire-withdraws-relied-on-records`: not made sure of.
 */
async function ensureQueued(
  input: RetireCoreBranchInput,
  chunk: readonly EventEnvelope[],
  context: QueueContext,
) {
  if (bugEnabled('retire-withdraws-relied-on-records')) return;
  for (const event of chunk) {
    const queued = context.records.get(event.eventId);
    if (!queued) continue;
    if (queued.existing) await requeue(input.queues, queued.existing, context.at);
    else for (const queue of input.queues) await queue.createOpen(queued.record, context.at);
  }
}

/**
 * Withdraws the records this call created for events the log still holds (`withdrawCreated`), then reads
 * the log again and puts back those whose event left it meanwhile (a concurrent retire deleted it: it must
 * keep its record). Whichever of the withdrawal and the other retire's commit comes first, every event out
 * of the log has its record, and none stays open for an event still logged. Switch
 * `retire-withdraws-relied-on-records`: nothing put back.
 */
async function takeBack(input: RetireCoreBranchInput, context: QueueContext): Promise<void> {
  if (context.takenBack || context.created.length === 0) return;
  context.takenBack = true;
  const { cell, aggregate } = input;
  const aggregateId = input.losing[0]!.aggregateId;
  const ids = async () =>
    new Set((await cell.events.loadStream(aggregate.name, aggregateId)).map((e) => e.eventId));
  const withdrawn = await withdrawCreated(context.created, await ids());
  if (withdrawn.length === 0 || bugEnabled('retire-withdraws-relied-on-records')) return;
  await restoreWithdrawn(withdrawn, await ids(), context.at);
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

/**
 * The fold of a core log for a retire or a row rebuild, whatever was archived (lib/lifecycle
 * `coreLogFolder`): from seq 1 while the log holds every event whole, else from the newest snapshot the log
 * confirms at or above its archived stubs, else from the archive; neither: HistoryIncompleteError, never a
 * row folded from the middle of the log or from seq 1 over stubs. Every region's retire goes through it,
 * with the snapshots and the archive the cell has (a cell with neither refuses a log that holds stubs).
 */
export async function archiveAwareFold(
  cell: Pick<CoreLogCell, 'events' | 'snapshots' | 'archive'>,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<(log: readonly EventEnvelope[]) => StateRecord> {
  return coreLogFolder(cell, aggregate, aggregateId);
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
 * for that very event is reused, whatever it was paired with), then is deleted from `cell`'s log in one
 * transaction (`retireChunk`, per RETIRE_CHUNK events from the newest end) with the row folded from what
 * the log keeps and the check that the slot above the branch still holds what was read there. An event
 * found on top that chains onto the branch (its `prev` is a branch event) is queued and retired with it;
 * one that does not (a winning-branch event of a joined log, and whatever lies on it) stays, checked in
 * place. The row the log ends with is folded before anything is queued: a branch whose fold cannot be
 * computed (HistoryIncompleteError) is left whole. Refused by the seal (`writer`) or a move of the home
 * (`owner`), or failed after queueing (best effort), the records this call created for events still logged
 * are withdrawn, and put back for those a concurrent retire deleted meanwhile (`takeBack`); each chunk's
 * records are made sure of again once it committed (`ensureQueued`). Whatever moved
 * meanwhile, the log is read again. Nothing is deleted before it is queued everywhere, and no reader sees
 * part of a branch gone.
 * @example await retireCoreBranch({ cell, queues, aggregate, losing: [x], winning: homeLog, reason: 'fork' })
 */
export async function retireCoreBranch(input: RetireCoreBranchInput): Promise<RetiredBranch> {
  const { cell, aggregate } = input;
  const losing = [...input.losing].sort((a, b) => a.seq - b.seq);
  if (losing.length === 0) return { retired: [], queued: [], row: null };
  const aggregateId = losing[0]!.aggregateId;
  // An archived stub has left the hot log for the archive: it cannot be queued with its envelope nor retired
  // here (the archiver takes only events every peer holds, so a fork below it is settled by hand).
  const stub = losing.find(isArchivedStub);
  if (stub) throw new ForkBelowArchiveError(aggregate.name, aggregateId, stub.seq);
  const context: QueueContext = {
    forkSeq: losing[0]!.seq,
    at: (input.now ?? (() => new Date()))().toISOString(),
    queued: [],
    created: [],
    records: new Map(),
    takenBack: false,
  };
  const fold = await archiveAwareFold(cell, aggregate, aggregateId);
  if (bugEnabled('retire-one-event-at-a-time')) {
    await queueNew(input, losing, context);
    return legacyRetire(input, losing, context.queued, fold);
  }
  const ids = new Set(losing.map((e) => e.eventId));
  const winningIds = new Set(input.winning.map((e) => e.eventId));
  const plan: ChunkPlan = { ids, fold, plan: (log) => branchInLog(log, ids, winningIds, fold) };
  // The row the log ends with, before anything is queued or deleted (throws HistoryIncompleteError).
  if (!bugEnabled('retire-folds-chunk-by-chunk'))
    plan.plan(await cell.events.loadStream(aggregate.name, aggregateId));
  let retired: EventEnvelope[];
  try {
    await queueNew(input, losing, context);
    retired = await retireInChunks(input, plan, context);
  } catch (error) {
    // Failed after queueing (throttled, timed out, ContentionError, a crash of a queue): the records of
    // events still logged are taken back, best effort, before the error goes on. Switch
    // `failed-retire-keeps-records`: left open.
    if (!bugEnabled('failed-retire-keeps-records')) await takeBack(input, context).catch(() => undefined);
    throw error;
  }
  const row = await rebuildRowFromLog(cell, aggregate, aggregateId, fold);
  return { retired, queued: context.queued, row };
}

interface ChunkPlan {
  /** The branch's events (what was found on top and taken along is added). */
  readonly ids: Set<string>;
  readonly fold: (log: readonly EventEnvelope[]) => StateRecord;
  readonly plan: (log: readonly EventEnvelope[]) => { present: EventEnvelope[]; above: EventEnvelope[] };
}

/** Retires the branch from its newest end, one transaction per chunk, reading the log again each time. */
async function retireInChunks(
  input: RetireCoreBranchInput,
  { ids, fold, plan }: ChunkPlan,
  context: QueueContext,
): Promise<EventEnvelope[]> {
  const { cell, aggregate } = input;
  const aggregateId = input.losing[0]!.aggregateId;
  const retired: EventEnvelope[] = [];
  for (let attempt = 1; ; ) {
    const log = await cell.events.loadStream(aggregate.name, aggregateId);
    const { present, above } = plan(log);
    if (present.length === 0) return retired;
    if (above.length > 0) {
      await queueNew(input, above, context);
      for (const event of above) ids.add(event.eventId);
      present.push(...above);
    }
    const chunk = present.slice(-RETIRE_CHUNK);
    const gone = new Set(chunk.map((e) => e.eventId));
    const kept = log.filter((e) => !gone.has(e.eventId));
    const onTop = log.find((e) => e.seq === chunk.at(-1)!.seq + 1);
    const { writer, owner } = input;
    const outcome = await retireChunk({ cell, aggregate, chunk, kept, fold, writer, owner, onTop });
    if (outcome === 'done') {
      retired.unshift(...chunk);
      await ensureQueued(input, chunk, context);
      continue;
    }
    if (outcome === 'sealed' || outcome === 'home-moved') await refuse(input, fold, context, outcome);
    if (++attempt > RETIRE_ATTEMPTS) throw new ContentionError(aggregateId, attempt);
    await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
  }
}

/**
 * A retire the seal or a move of the home refused: the row rebuilt from what the log keeps, the records
 * this call created for events the log still holds withdrawn, those whose event a concurrent retire deleted
 * meanwhile put back (`takeBack`; switch `sealed-retire-keeps-records`: kept), then PeerRefusedError
 * `sealed` or HomeMovedError.
 */
async function refuse(
  input: RetireCoreBranchInput,
  fold: (log: readonly EventEnvelope[]) => StateRecord,
  context: QueueContext,
  outcome: 'sealed' | 'home-moved',
): Promise<never> {
  const { cell, aggregate } = input;
  const aggregateId = input.losing[0]!.aggregateId;
  await rebuildRowFromLog(cell, aggregate, aggregateId, fold);
  if (!bugEnabled('sealed-retire-keeps-records')) await takeBack(input, context);
  else context.takenBack = true;
  throw outcome === 'sealed'
    ? new PeerRefusedError(cell.region, 'sealed')
    : new HomeMovedError(cell.region, aggregateId, input.owner!);
}

/**
 * The branch as the log holds it: its events still there, and what lies on top of it and goes with it
 * (`chainedAbove`; switch `retire-takes-unchained-above`: every event above not in `winning`). Unless
 * switched off, also folds what the log keeps once all of them are gone: the row the retire ends with
 * must be computable before its first chunk deletes anything.
 */
function branchInLog(
  log: readonly EventEnvelope[],
  ids: ReadonlySet<string>,
  winningIds: ReadonlySet<string>,
  fold: (log: readonly EventEnvelope[]) => StateRecord,
): { present: EventEnvelope[]; above: EventEnvelope[] } {
  const present = log.filter((e) => ids.has(e.eventId));
  const top = present.at(-1);
  if (!top) return { present, above: [] };
  const above = bugEnabled('retire-takes-unchained-above')
    ? log.filter((e) => e.seq > top.seq && !ids.has(e.eventId) && !winningIds.has(e.eventId))
    : chainedAbove(log, top, winningIds);
  if (!bugEnabled('retire-folds-chunk-by-chunk')) {
    const leaving = new Set([...present, ...above].map((e) => e.eventId));
    fold(log.filter((e) => !leaving.has(e.eventId)));
  }
  return { present, above };
}

/**
 * The retire before review 2 (switch `retire-one-event-at-a-time`): one conditional delete per event, each
 * checking only its own slot, then the row rebuilt. An event written on top of the branch between the read
 * and the deletes stays in the log, chained to nothing.
 */
async function legacyRetire(
  input: RetireCoreBranchInput,
  losing: readonly EventEnvelope[],
  queued: Array<{ eventId: string; seq: number; kept: string }>,
  fold: (log: readonly EventEnvelope[]) => StateRecord,
): Promise<RetiredBranch> {
  const { cell, aggregate } = input;
  const retired: EventEnvelope[] = [];
  let stopped: PeerRefusedError | undefined;
  try {
    for (const event of [...losing].reverse())
      if (await deleteLogged(cell, event, input.writer)) retired.push(event);
  } catch (error) {
    if (!(error instanceof PeerRefusedError)) throw error;
    stopped = error;
  }
  const row = await rebuildRowFromLog(cell, aggregate, losing[0]!.aggregateId, fold);
  if (stopped) throw stopped;
  return { retired: retired.reverse(), queued, row };
}
