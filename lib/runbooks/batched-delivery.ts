import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { HybridLogicalClock } from '../clock/clock.ts';
import { extendsHead, headOf } from '../commands/chain.ts';
import { emptyRecord, foldRecord } from '../commands/execute.ts';
import type { ConflictPolicy } from '../config/schema.ts';
import { materialize } from '../conflict/materialize.ts';
import { reconcileConflicts, recordLwwLosers } from '../conflict/reconcile.ts';
import { conflictPairsFor } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import { jsonBytes } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { InOrderAppendRefusedError, PoisonEventError } from '../replication/errors.ts';
import { validateIncoming } from '../replication/validate.ts';
import { ConcurrencyError, isTransactionConflict, StateVersionConflictError } from '../store/errors.ts';
import type { AppendGuard } from '../store/event-store.ts';
import { guardedStatePut, type StateRecord } from '../store/state-store.ts';
import { predecessorInLog } from './direct-delivery.ts';
import type { BranchRules } from './heal-branches.ts';
import { mapBounded } from './input.ts';
import type { RegionCell } from './ports.ts';
import { timedStage } from './repair-timings.ts';

/**
 * Events per transaction: TransactWriteItems takes 100 items, of which a core chunk spends up to four on
 * its guards (the row, the predecessor's slot, the core marker, the copy marker).
 */
const CHUNK_EVENTS = 96;
/** Bytes of events per transaction: TransactWriteItems takes 4 MB in all; the rest is left to the row. */
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
  const runs = new Map<string, EventEnvelope[]>();
  for (const event of events) runs.set(keyOf(event), [...(runs.get(keyOf(event)) ?? []), event]);
  const clock = new HybridLogicalClock({ region: cell.region });
  const results = await mapBounded([...runs.values()], BATCH_LANES, async (run) => {
    const aggregate = branches.aggregate(run[0]!.aggregateType);
    if (aggregate.tier === 'core') return deliverCoreRun(cell, aggregate, run, { branches, clock });
    return deliverMaterializedRun(cell, aggregate, run, { branches, clock });
  });
  return {
    delivered: results.reduce((n, r) => n + r.delivered, 0),
    leftover: results.flatMap((r) => r.leftover),
  };
}

interface RunContext {
  readonly branches: BranchRules;
  readonly clock: HybridLogicalClock;
}

/** The applier's checks (own origin accepted, see direct delivery); the envelope as the applier stores it. */
function checked(cell: RegionCell, event: EventEnvelope, context: RunContext): EventEnvelope | undefined {
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

/** Consecutive chunks that fit one transaction (and, with `split`, share its value). */
function chunksOf<T>(events: readonly EventEnvelope[], split: (e: EventEnvelope) => T): EventEnvelope[][] {
  const chunks: EventEnvelope[][] = [];
  let current: EventEnvelope[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = jsonBytes(event);
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

/**
 * A core aggregate's run: the longest valid, chained prefix that extends both the row and the log's
 * predecessor goes in by chunks (events, the row folded with them, the predecessor still in its slot);
 * the rest, or everything after a refused transaction, is left to direct delivery, which decides each
 * event (`slot-taken`, `not-chained`, `row-ahead`, ...) and reports it.
 */
async function deliverCoreRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<BatchedDelivery> {
  const ordered = [...run].sort((a, b) => a.seq - b.seq || (a.hlc < b.hlc ? -1 : 1));
  const first = ordered[0]!;
  const read = await cell.states.getState(aggregate.name, first.aggregateId);
  let row = read ?? emptyRecord(aggregate, first.aggregateId);
  let predecessor = await predecessorInLog(cell, first);
  if (!predecessor || !extendsHead(row, first) || !extendsHead(predecessor, first))
    return { delivered: 0, leftover: ordered };
  let chained = 0;
  let head = predecessor;
  for (const event of ordered) {
    if (!extendsHead(head, event) || !checked(cell, event, context)) break;
    head = { ...headOf(event), eventId: event.eventId };
    chained++;
  }
  let done = 0;
  let stored = read;
  for (const chunk of chunksOf(ordered.slice(0, chained), (e) => e.origin === cell.region)) {
    const folded = foldRecord(aggregate, row, chunk);
    const guards = [rowPut(cell, folded, stored)];
    if (predecessor.eventId !== null)
      guards.push({
        item: cell.events.slotHolds({ ...first, seq: predecessor.seq, eventId: predecessor.eventId }),
        onFailure: () => new InOrderAppendRefusedError(first.aggregateId, 'state-row'),
      });
    const received = chunk[0]!.origin !== cell.region;
    try {
      await cell.events.appendEvents(chunk, { tier: 'core', received, guards });
    } catch (error) {
      if (!refusedWrite(error)) throw error;
      break;
    }
    const last = chunk[chunk.length - 1]!;
    row = folded;
    stored = folded;
    predecessor = { seq: last.seq, head: last.hlc, eventId: last.eventId };
    done += chunk.length;
  }
  return { delivered: done, leftover: ordered.slice(done) };
}

/**
 * An important or ordinary aggregate's run: its valid events not yet in the log go in by chunks, each with
 * the row materialised from the log plus the chunks so far (the applier's fold: every region converges on
 * it whatever the order), on the row as read. A row that moved meanwhile (a command, the applier) fails the
 * transaction and the aggregate is read again; a key held by another event, or a manual-policy peer run
 * that would open a conflict (the applier announces it), goes to the per-event paths whole.
 */
async function deliverMaterializedRun(
  cell: RegionCell,
  aggregate: AnyAggregate,
  run: readonly EventEnvelope[],
  context: RunContext,
): Promise<BatchedDelivery> {
  const policy = context.branches.policy(aggregate);
  const own = run[0]!.origin === cell.region && run.every((e) => e.origin === cell.region);
  const valid = run.map((e) => checked(cell, e, context));
  if (valid.some((e) => e === undefined)) return { delivered: 0, leftover: [...run] };
  const events = valid as EventEnvelope[];
  const { aggregateId } = events[0]!;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const read = await cell.states.getState(aggregate.name, aggregateId);
    const log = await cell.events.loadStream(aggregate.name, aggregateId);
    const inLog = new Set(log.map((e) => e.eventId));
    const fresh = events.filter((e) => !inLog.has(e.eventId));
    const all = [...log, ...fresh];
    if (!own && policy === 'manual' && opensConflict(aggregate, events, all))
      return { delivered: 0, leftover: [...run] };
    try {
      let set = log;
      let stored = read;
      for (const chunk of chunksOf(fresh, () => true)) {
        set = [...set, ...chunk];
        const { record } = materialize({ aggregate, aggregateId, policy, events: set });
        await cell.events.appendEvents(chunk, {
          tier: aggregate.tier,
          guards: [rowPut(cell, record, stored)],
        });
        stored = record;
      }
    } catch (error) {
      if (error instanceof ConcurrencyError) return { delivered: 0, leftover: [...run] };
      if (!refusedWrite(error)) throw error;
      continue;
    }
    await timedStage('conflicts', () => recordConflicts(cell, { aggregate, policy, events, all, own }));
    return { delivered: events.length, leftover: [] };
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
