import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { HybridLogicalClock } from '../clock/clock.ts';
import { extendsHead, headOf } from '../commands/chain.ts';
import { catchUpCoreRow, emptyRecord, foldRecord } from '../commands/execute.ts';
import type { ConflictPolicy, Tier } from '../config/schema.ts';
import { materialize } from '../conflict/materialize.ts';
import { reconcileConflicts, recordLwwLosers } from '../conflict/reconcile.ts';
import { conflictPairsFor } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import { jsonBytes } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import { InOrderAppendRefusedError, PoisonEventError } from '../replication/errors.ts';
import { validateIncoming } from '../replication/validate.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { ConcurrencyError, isTransactionConflict, StateVersionConflictError } from '../store/errors.ts';
import type { AppendGuard, TransactItem } from '../store/event-store.ts';
import { itemMeasure } from '../store/item-size.ts';
import { toEventItem } from '../store/marshal.ts';
import { guardedStatePut, type StateRecord } from '../store/state-store.ts';
import {
  GROUPED_TRANSACTION_LIMITS,
  packTransactions,
  TRANSACT_ITEM_MARGIN,
  weighTransactItems,
} from '../store/transaction-packing.ts';
import { type Predecessor, predecessorInLog } from './direct-delivery.ts';
import type { BranchRules } from './heal-branches.ts';
import { mapBounded } from './input.ts';
import type { RegionCell } from './ports.ts';
import { timedStage } from './repair-timings.ts';

/**
 * Events per transaction: TransactWriteItems takes 100 items, of which a core chunk spends up to four on
 * its guards (the row, the predecessor's slot, the core marker, the copy marker).
 */
const CHUNK_EVENTS = 96;
/**
 * Events' item size per transaction (DynamoDB's measure, not the JSON length): TransactWriteItems takes
 * 4 MB of items in all; the rest is left to the row (400 KB at most) and the guards.
 */
const CHUNK_BYTES = 3_000_000;
/** Aggregates delivered at once into one region (each is a few round trips to its tables). */
export const BATCH_LANES = 8;
/** Reads of the row and log before a materialized aggregate that keeps moving is left to the applier. */
const ATTEMPTS = 4;

/**
 * Switches that break the per-event path on purpose: while one is on, the whole delivery takes that path,
 * so its proof tests still exercise the broken code.
 */
const PER_EVENT_SWITCHES = [
  'repair-async-core-replay',
  'repair-direct-ignores-row',
  'repair-unchecked-own-events',
  'repair-aborts-on-taken-slot',
] as const;

/** What the batched path did: events now in the log (duplicates included), and what it left to the others. */
export interface BatchedDelivery {
  readonly delivered: number;
  /** Events for the per-event paths (direct delivery, the applier), which decide, refuse or quarantine them. */
  readonly leftover: EventEnvelope[];
}

const keyOf = (e: EventEnvelope) => `${e.aggregateType}#${e.aggregateId}`;

/**
 * Repair's fast path: per aggregate, the events a region lacks are written in a few transactions, each
 * with the aggregate's row re-materialised once, guarded by the row as read (version and head), so a
 * concurrent command or applier write makes the transaction fail instead of being overwritten (the
 * aggregate is then read again). Core: a chained run on top of the row and of its predecessor in the log,
 * every slot conditionally empty (or holding this very event: a retry). Other tiers: every event at a free
 * key (or the same event), the row folded from the whole log, conflicts recorded as the applier records
 * them. Whatever does not fit the fast path is left over, whole aggregate runs, for the per-event paths.
 */
export async function deliverBatched(
  cell: RegionCell,
  events: readonly EventEnvelope[],
  branches: BranchRules,
): Promise<BatchedDelivery> {
  if (PER_EVENT_SWITCHES.some((name) => bugEnabled(name))) return { delivered: 0, leftover: [...events] };
  const runs = groupBy(events, keyOf);
  const context = { branches, clock: new HybridLogicalClock({ region: cell.region }) };
  const planned = await mapBounded([...runs.values()], BATCH_LANES, async (run) => ({
    run,
    plan: await planRun(cell, run, context),
  }));
  const alone = planned.filter((p) => p.plan === undefined).map((p) => p.run);
  const groups = groupPlans(planned.flatMap((p) => (p.plan ? [{ run: p.run, plan: p.plan }] : [])));
  const results = [
    ...(await mapBounded(groups, BATCH_LANES, (group) => commitGroup(cell, group, context))).flat(),
    ...(await mapBounded(alone, BATCH_LANES, (run) => deliverRun(cell, run, context))),
  ];
  return {
    delivered: results.reduce((n, r) => n + r.delivered, 0),
    leftover: results.flatMap((r) => r.leftover),
  };
}

/** One aggregate's run, on its own (a run too long for one transaction, or whose group was refused). */
function deliverRun(cell: RegionCell, run: readonly EventEnvelope[], context: RunContext) {
  const aggregate = context.branches.aggregate(run[0]!.aggregateType);
  if (aggregate.tier === 'core') return deliverCoreRun(cell, aggregate, run, context);
  return deliverMaterializedRun(cell, aggregate, run, context);
}

/**
 * One aggregate's write as one transaction's items, decided on the row (and log) as read: what a group
 * commits together with other aggregates' writes. `delivered` are the events it puts in, `leftover` the
 * rest of the run (for the per-event paths), `after` what follows a commit (conflict records).
 */
interface RunPlan {
  readonly items: TransactItem[];
  /** Item size of `items` as DynamoDB counts it toward the 4 MB of a transaction (margins included). */
  readonly bytes: number;
  /** Bytes of `items` in the request (DynamoDB JSON). */
  readonly wire: number;
  readonly delivered: number;
  readonly leftover: EventEnvelope[];
  readonly after?: () => Promise<void>;
}

/** A run's plan when it fits one transaction's share, undefined when it must go on its own. */
async function planRun(
  cell: RegionCell,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<RunPlan | undefined> {
  const aggregate = context.branches.aggregate(run[0]!.aggregateType);
  const plan =
    aggregate.tier === 'core'
      ? await planCoreRun(cell, aggregate, run, context)
      : await planMaterializedRun(cell, aggregate, run, context);
  const limits = GROUPED_TRANSACTION_LIMITS;
  const fits = (p: RunPlan) =>
    p.items.length <= limits.items && p.bytes <= limits.bytes && p.wire <= limits.wire;
  return plan && fits(plan) ? plan : undefined;
}

/**
 * What a plan's items weigh in a transaction (weighTransactItems). Switch `repair-batch-rows-uncounted`:
 * the events' JSON bytes only, as before the fix (the re-materialised rows uncounted, so a group of large
 * rows passes 4 MB).
 */
function weigh(
  items: readonly TransactItem[],
  events: readonly EventEnvelope[],
): { bytes: number; wire: number } {
  if (bugEnabled('repair-batch-rows-uncounted'))
    return { bytes: events.reduce((n, e) => n + jsonBytes(e), 0), wire: 0 };
  const { bytes, wire } = weighTransactItems(items);
  return { bytes, wire };
}

/**
 * Whether DynamoDB refused a transaction as too large (a ValidationException: items past 4 MB; HTTP 413: a
 * body past 16 MB) rather than on a condition: the same request never succeeds, smaller ones may.
 * Switch `repair-batch-rows-uncounted`: never (the exception fails the partition's Replay, as before).
 */
function tooLarge(error: unknown): boolean {
  if (!(error instanceof Error) || bugEnabled('repair-batch-rows-uncounted')) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === 'ValidationException' || status === 413;
}

/** Plans packed into transactions within GROUPED_TRANSACTION_LIMITS. */
function groupPlans<T extends { plan: RunPlan }>(plans: readonly T[]): T[][] {
  return packTransactions(plans, ({ plan }) => ({
    items: plan.items.length,
    bytes: plan.bytes,
    wire: plan.wire,
  }));
}

/**
 * Commits a group's plans in one TransactWriteItems (all or nothing). Refused (a row moved, a key taken, an
 * event already in: one condition; or the whole as too large, which the sizes counted should prevent),
 * nothing of it was written, and each aggregate goes again on its own, read afresh.
 */
async function commitGroup(
  cell: RegionCell,
  group: ReadonlyArray<{ run: readonly EventEnvelope[]; plan: RunPlan }>,
  context: RunContext,
): Promise<BatchedDelivery[]> {
  const items = group.flatMap((g) => g.plan.items);
  try {
    if (items.length > 0) await cell.tables.client.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    const refused = error instanceof TransactionCanceledException || isTransactionConflict(error);
    if (!refused && !tooLarge(error)) throw error;
    const alone: BatchedDelivery[] = [];
    for (const { run } of group) alone.push(await deliverRun(cell, run, context));
    return alone;
  }
  for (const { plan } of group) await plan.after?.();
  return group.map(({ plan }) => ({ delivered: plan.delivered, leftover: plan.leftover }));
}

interface RunContext {
  readonly branches: BranchRules;
  readonly clock: HybridLogicalClock;
}

/**
 * The applier's checks (own origin accepted, see direct delivery); the envelope as the applier stores it.
 * Undefined for an event the fast path must not write (invalid, or an archived stub).
 */
function checked(cell: RegionCell, event: EventEnvelope, context: RunContext): EventEnvelope | undefined {
  // An archived stub (no payload) is never written: it is left to the per-event paths, which refuse it.
  if (isArchivedStub(event)) return undefined;
  try {
    const validated = validateIncoming(structuredClone(event), {
      region: cell.region,
      registry: context.branches.registry,
      clock: context.clock,
      maxEventBytes: cell.events.maxEventBytes,
      ownOrigin: 'accept',
    });
    return validated.kind === 'event' ? validated.envelope : undefined;
  } catch (error) {
    if (error instanceof PoisonEventError) return undefined;
    throw error;
  }
}

/** An event's item size as DynamoDB counts it (switch `repair-batch-rows-uncounted`: its JSON bytes). */
function eventBytes(tier: Tier, event: EventEnvelope): number {
  if (bugEnabled('repair-batch-rows-uncounted')) return jsonBytes(event);
  return itemMeasure(toEventItem(tier, event)).size + TRANSACT_ITEM_MARGIN;
}

/** Consecutive chunks that fit one transaction with their row (and, with `split`, share its value). */
function chunksOf<T>(
  tier: Tier,
  events: readonly EventEnvelope[],
  split: (e: EventEnvelope) => T,
): EventEnvelope[][] {
  const chunks: EventEnvelope[][] = [];
  let current: EventEnvelope[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = eventBytes(tier, event);
    const full = current.length >= CHUNK_EVENTS || bytes + size > CHUNK_BYTES;
    if (current.length > 0 && (full || split(current[0]!) !== split(event))) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The row's Put in the events' transaction, on the condition that the row is still the one read (absent:
 * still absent). Switch `repair-batch-unguarded-row`: unconditional, so a write that landed between the
 * read and this Put is overwritten by a row that never folded it.
 */
function rowPut(cell: RegionCell, record: StateRecord, read: StateRecord | undefined): AppendGuard {
  const table = cell.states.table();
  const onFailure = () => new StateVersionConflictError(record.aggregateId, read?.version ?? 0);
  if (bugEnabled('repair-batch-unguarded-row'))
    return {
      item: { Put: { TableName: table, Item: guardedStatePut(table, record, 0).Put.Item } },
      onFailure,
    };
  const expected = read ? { version: read.version, head: read.head } : 0;
  return { item: guardedStatePut(table, record, expected), onFailure };
}

/** A transaction refused on one of its conditions (the row, the predecessor, a key) or on contention. */
function refusedWrite(error: unknown): boolean {
  return (
    error instanceof StateVersionConflictError ||
    error instanceof InOrderAppendRefusedError ||
    error instanceof ConcurrencyError ||
    error instanceof TransactionCanceledException ||
    isTransactionConflict(error)
  );
}

/** A core run as read: its events in seq order, the row, and the chained valid prefix extending both. */
interface CoreRead {
  readonly ordered: EventEnvelope[];
  readonly read: StateRecord | undefined;
  readonly row: StateRecord;
  readonly predecessor: Predecessor;
  readonly chained: number;
}

/** Reads a core run's row and its predecessor in the log; undefined when the run does not extend both. */
async function readCore(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<CoreRead | undefined> {
  const ordered = [...run].sort((a, b) => a.seq - b.seq || (a.hlc < b.hlc ? -1 : 1));
  const first = ordered[0]!;
  const [read, predecessor] = await Promise.all([
    cell.states.getState(aggregate.name, first.aggregateId),
    predecessorInLog(cell, first),
  ]);
  const row = read ?? emptyRecord(aggregate, first.aggregateId);
  if (!predecessor || !extendsHead(row, first) || !extendsHead(predecessor, first)) return undefined;
  let chained = 0;
  let head: Predecessor = predecessor;
  for (const event of ordered) {
    if (!extendsHead(head, event) || !checked(cell, event, context)) break;
    head = { ...headOf(event), eventId: event.eventId };
    chained++;
  }
  return { ordered, read, row, predecessor, chained };
}

/** The items of one core chunk: its events on free slots, the row folded with them, the predecessor held. */
function coreChunkItems(
  cell: RegionCell,
  aggregate: AnyAggregate,
  at: {
    chunk: readonly EventEnvelope[];
    row: StateRecord;
    stored: StateRecord | undefined;
    predecessor: Predecessor;
  },
) {
  const { chunk, predecessor } = at;
  const first = chunk[0]!;
  const folded = foldRecord(aggregate, at.row, chunk);
  const guards = [rowPut(cell, folded, at.stored)];
  if (predecessor.eventId !== null)
    guards.push({
      item: cell.events.slotHolds({ ...first, seq: predecessor.seq, eventId: predecessor.eventId }),
      onFailure: () => new InOrderAppendRefusedError(first.aggregateId, 'state-row'),
    });
  return { folded, guards, received: first.origin !== cell.region };
}

/** A core run's plan: its chained prefix when one chunk holds it (the rest left over), else undefined. */
async function planCoreRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<RunPlan | undefined> {
  const core = await readCore(cell, aggregate, run, context);
  if (!core) return { items: [], bytes: 0, wire: 0, delivered: 0, leftover: [...run] };
  const chunks = chunksOf('core', core.ordered.slice(0, core.chained), (e) => e.origin === cell.region);
  if (chunks.length === 0) return { items: [], bytes: 0, wire: 0, delivered: 0, leftover: core.ordered };
  if (chunks.length > 1) return undefined;
  const chunk = chunks[0]!;
  const { folded, guards, received } = coreChunkItems(cell, aggregate, {
    chunk,
    stored: core.read,
    ...core,
  });
  const items = cell.events.appendItems(chunk, { tier: 'core', received, guards });
  return {
    items,
    ...weigh(items, chunk),
    delivered: chunk.length,
    leftover: core.ordered.slice(chunk.length),
    after: () => catchUp(cell, aggregate, folded),
  };
}

/**
 * A core aggregate's run on its own: the longest valid, chained prefix that extends both the row and the
 * log's predecessor goes in by chunks (events, the row folded with them, the predecessor still in its
 * slot); the rest, or everything after a refused transaction, is left to direct delivery, which decides
 * each event (`slot-taken`, `not-chained`, `row-ahead`, ...) and reports it.
 */
async function deliverCoreRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<BatchedDelivery> {
  const core = await readCore(cell, aggregate, run, context);
  if (!core) return { delivered: 0, leftover: [...run] };
  let { row, predecessor } = core;
  let stored = core.read;
  let done = 0;
  // The last chunk's events were all in the log already (copies landed meanwhile): no row was written.
  let unwritten = false;
  for (const chunk of chunksOf(
    'core',
    core.ordered.slice(0, core.chained),
    (e) => e.origin === cell.region,
  )) {
    const { folded, guards, received } = coreChunkItems(cell, aggregate, { chunk, row, stored, predecessor });
    let appended: number;
    try {
      ({ appended } = await cell.events.appendEvents(chunk, { tier: 'core', received, guards }));
    } catch (error) {
      // Refused, or too large even alone: the rest goes to direct delivery, event by event.
      if (!refusedWrite(error) && !tooLarge(error)) throw error;
      break;
    }
    const last = chunk[chunk.length - 1]!;
    row = folded;
    stored = folded;
    predecessor = { seq: last.seq, head: last.hlc, eventId: last.eventId };
    done += chunk.length;
    // Every event a duplicate: appendEvents wrote nothing, the row Put included. The catch-up re-reads the
    // row (not the fold above, never written); the rest goes to direct delivery.
    unwritten = appended === 0 && !bugEnabled('repair-batch-trusts-duplicate-row');
    if (unwritten) break;
  }
  if (done > 0) await catchUp(cell, aggregate, unwritten ? row.aggregateId : row);
  return { delivered: done, leftover: core.ordered.slice(done) };
}

/**
 * Folds into the row what the log holds past the delivered run (a quorum copy written ahead of a gap the
 * run closed), as direct delivery does after its appends: from the row written (`folded`), or, given only
 * the aggregate's id (nothing written: every event a duplicate), from the row read afresh. A row another
 * writer keeps moving is left to the row check after the replay (rebuildDivergedRows).
 */
async function catchUp(
  cell: RegionCell,
  aggregate: AnyAggregate,
  folded: StateRecord | string,
): Promise<void> {
  try {
    if (typeof folded === 'string') await catchUpCoreRow(cell, aggregate, folded);
    else await catchUpCoreRow(cell, aggregate, folded.aggregateId, folded);
  } catch (error) {
    if (!(error instanceof ConcurrencyError)) throw error;
  }
}

/** A materialized run as read: its checked events, the row and the log, what the log lacks. */
interface MaterializedRead {
  readonly policy: ConflictPolicy;
  readonly own: boolean;
  readonly events: EventEnvelope[];
  readonly read: StateRecord | undefined;
  readonly log: EventEnvelope[];
  readonly fresh: EventEnvelope[];
  readonly all: EventEnvelope[];
}

/**
 * Reads an important or ordinary run's row and log; undefined when the run goes to the per-event paths
 * whole: an event fails the applier's checks (the applier quarantines it, direct delivery reports it), or
 * a manual-policy peer run would open a conflict (the applier announces it; the runbook has no notifier).
 */
async function readMaterialized(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<MaterializedRead | undefined> {
  const policy = context.branches.policy(aggregate);
  const own = run.every((e) => e.origin === cell.region);
  const valid = run.map((e) => checked(cell, e, context));
  if (valid.some((e) => e === undefined)) return undefined;
  const events = valid as EventEnvelope[];
  const { aggregateId } = events[0]!;
  const { read, log } = await readRowThenLog(cell, aggregate, aggregateId);
  const inLog = new Set(log.map((e) => e.eventId));
  const fresh = events.filter((e) => !inLog.has(e.eventId));
  const all = [...log, ...fresh];
  if (!own && policy === 'manual' && opensConflict(aggregate, events, all)) return undefined;
  return { policy, own, events, read, log, fresh, all };
}

/**
 * The row, then the log (in that order, as the applier's rematerialize reads them): a write landing
 * between the two reads is in the log but not in the row as read, so the transaction's guard on that row
 * fails and the aggregate is read again. Read the other way round (or concurrently), such a write is in
 * the row as read but not in the log the new row is materialised from: the guard passes and the row
 * Repair writes loses it (and a manual conflict with it goes unseen). Switch
 * `repair-batch-parallel-reads`: both reads at once, as before the fix.
 */
async function readRowThenLog(
  cell: RegionCell,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<{ read: StateRecord | undefined; log: EventEnvelope[] }> {
  if (bugEnabled('repair-batch-parallel-reads')) {
    const [read, log] = await Promise.all([
      cell.states.getState(aggregate.name, aggregateId),
      cell.events.loadStream(aggregate.name, aggregateId),
    ]);
    return { read, log };
  }
  const read = await cell.states.getState(aggregate.name, aggregateId);
  const log = await cell.events.loadStream(aggregate.name, aggregateId);
  return { read, log };
}

/** A materialized run's plan when its fresh events fit one chunk (else undefined: it goes on its own). */
async function planMaterializedRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<RunPlan | undefined> {
  const m = await readMaterialized(cell, aggregate, run, context);
  if (!m) return { items: [], bytes: 0, wire: 0, delivered: 0, leftover: [...run] };
  if (chunksOf(aggregate.tier, m.fresh, () => true).length > 1) return undefined;
  const after = () => timedStage('conflicts', () => recordConflicts(cell, { aggregate, ...m }));
  if (m.fresh.length === 0)
    return { items: [], bytes: 0, wire: 0, delivered: m.events.length, leftover: [], after };
  const aggregateId = m.events[0]!.aggregateId;
  const { record } = materialize({ aggregate, aggregateId, policy: m.policy, events: m.all });
  const items = cell.events.appendItems(m.fresh, {
    tier: aggregate.tier,
    guards: [rowPut(cell, record, m.read)],
  });
  return {
    items,
    ...weigh(items, m.fresh),
    delivered: m.events.length,
    leftover: [],
    after,
  };
}

/**
 * An important or ordinary aggregate's run on its own: its valid events not yet in the log go in by
 * chunks, each with the row materialised from the log plus the chunks so far (the applier's fold: every
 * region converges on it whatever the order), on the row as read. A row that moved meanwhile (a command,
 * the applier) fails the transaction and the aggregate is read again; a key held by another event goes
 * to the per-event paths whole (the applier quarantines the collision).
 */
async function deliverMaterializedRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<BatchedDelivery> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const m = await readMaterialized(cell, aggregate, run, context);
    if (!m) return { delivered: 0, leftover: [...run] };
    const aggregateId = m.events[0]!.aggregateId;
    let unwritten = false;
    try {
      let set = m.log;
      let stored = m.read;
      for (const chunk of chunksOf(aggregate.tier, m.fresh, () => true)) {
        set = [...set, ...chunk];
        const { record } = materialize({ aggregate, aggregateId, policy: m.policy, events: set });
        const { appended } = await cell.events.appendEvents(chunk, {
          tier: aggregate.tier,
          guards: [rowPut(cell, record, stored)],
        });
        // Every fresh event a duplicate (landed meanwhile): nothing written, the row Put included. The
        // aggregate is read again (row, then log) rather than guarding the next chunk on a row never written.
        unwritten = appended === 0 && !bugEnabled('repair-batch-trusts-duplicate-row');
        if (unwritten) break;
        stored = record;
      }
    } catch (error) {
      // A key held by another event, or too large even alone: the per-event paths take it, event by event.
      if (error instanceof ConcurrencyError || tooLarge(error)) return { delivered: 0, leftover: [...run] };
      if (!refusedWrite(error)) throw error;
      continue;
    }
    if (unwritten) continue;
    await timedStage('conflicts', () => recordConflicts(cell, { aggregate, ...m }));
    return { delivered: m.events.length, leftover: [] };
  }
  return { delivered: 0, leftover: [...run] };
}

/** Whether an event of the run takes part in a conflict pair of the set (under `manual`, a record to open). */
function opensConflict(
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  all: readonly EventEnvelope[],
): boolean {
  return run.some(
    (event) => conflictPairsFor({ type: aggregate.name, id: event.aggregateId }, event, all).length > 0,
  );
}

/**
 * The applier's conflict records after an arrival (every event, duplicates included: a crash between the
 * write and the records heals here): lww losers recorded for audit, manual records brought up to date
 * (a ConflictResolved marks its pairs resolved). Important tier only, as on the applier's path. Switch
 * `repair-direct-skips-reconcile` skips it for a region's own events, as on the direct path.
 */
async function recordConflicts(
  cell: RegionCell,
  input: {
    aggregate: AnyAggregate;
    policy: ConflictPolicy;
    events: readonly EventEnvelope[];
    all: readonly EventEnvelope[];
    own: boolean;
  },
): Promise<void> {
  const { aggregate, policy } = input;
  if (aggregate.tier !== 'important' || (policy !== 'lww' && policy !== 'manual')) return;
  if (input.own && bugEnabled('repair-direct-skips-reconcile')) return;
  const now = new Date();
  const set = materialize({
    aggregate,
    aggregateId: input.events[0]!.aggregateId,
    policy,
    events: input.all,
  }).sorted;
  for (const event of input.events) {
    const pair = { aggregateType: aggregate.name, aggregateId: event.aggregateId, event, set };
    if (policy === 'lww') await recordLwwLosers({ records: cell.conflicts }, pair);
    else await reconcileConflicts({ records: cell.conflicts }, { ...pair, now });
  }
}
