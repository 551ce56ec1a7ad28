import { AsyncLocalStorage } from 'node:async_hooks';
import { checkSignedDetail } from '../auth/event-signature.ts';
import { emptyRecord } from '../commands/execute.ts';
import { sortByHlc } from '../conflict/causality.ts';
import { canFoldOnTop, foldOnTop, materialize } from '../conflict/materialize.ts';
import { policyFor } from '../conflict/policy.ts';
import { bugEnabled } from '../faults/index.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { appendWithState } from '../store/append-with-state.ts';
import { ConcurrencyError, isTransactionConflict, StateVersionConflictError } from '../store/errors.ts';
import type { TransactItem } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { guardedStatePut, type StateRecord } from '../store/state-store.ts';
import {
  GROUPED_TRANSACTION_LIMITS,
  packTransactions,
  type TransactionWeight,
  weighTransactItems,
} from '../store/transaction-packing.ts';
import { type ApplierDeps, type ApplyOutcome, type ApplyReplicatedEvent, createApplier } from './applier.ts';
import { ApplyContentionError, POISON_REASONS, PoisonEventError } from './errors.ts';
import {
  addToGroup,
  cappedAdvances,
  type Group,
  type GroupedEvent,
  groupOutcomes,
  recordIdsOf,
  type Settled,
} from './lane-batch.ts';
import { refusalOf, runsOf } from './lane-runs.ts';
import { NO_METRICS } from './ports.ts';
import { validateIncoming } from './validate.ts';
import type { WatermarkStore } from './watermarks.ts';

/** One message of the lane: its id (the SQS messageId) and its body (the EventBridge event, as JSON). */
export interface LaneRecord {
  readonly id: string;
  readonly body: string;
  /**
   * When the event reached this region's lane (the message's SentTimestamp). The group commit stamps the
   * watermark with it: the wait in the lane is the batching window, by design, not replication lag, so it
   * must not reach the sync breakers (a 5 s window and a 5 s degradeLagMs would open them on a healthy peer).
   */
  readonly receivedAt?: Date;
}

/** The lane records of an SQS event's records (their SentTimestamp as `receivedAt`, when it parses). */
export function laneRecordsOf(
  records: ReadonlyArray<{ messageId: string; body: string; attributes?: { SentTimestamp?: string } }>,
): LaneRecord[] {
  return records.map((r) => {
    const sent = Number(r.attributes?.SentTimestamp);
    return {
      id: r.messageId,
      body: r.body,
      ...(Number.isFinite(sent) && sent > 0 ? { receivedAt: new Date(sent) } : {}),
    };
  });
}

/** What a batch came to: the records to deliver again, and each record's outcome. */
export interface BatchApplyReport {
  /** Ids of the records that failed for a transient reason (the partial batch response). */
  readonly failed: readonly string[];
  readonly outcomes: ReadonlyArray<{ readonly id: string; readonly outcome: ApplyOutcome }>;
  /** Aggregates written with one transaction each (a run of their events), for the metrics. */
  readonly runs: number;
  /** Aggregates whose events went one by one instead (the `LaneFallbackEvents` metric), and why. */
  readonly fallbacks: readonly LaneFallback[];
}

/** An aggregate of a batch whose events the lane sent one by one down the per-event path. */
export interface LaneFallback {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly events: number;
  /** The refusal (`ValidationException`, `UnknownError (HTTP 413)`, ...) or `poison: <reason>`. */
  readonly reason: string;
}

/** Applies one batch of lane records. */
export type ApplyReplicatedBatch = (records: readonly LaneRecord[]) => Promise<BatchApplyReport>;

export { MAX_RUN_BYTES } from './lane-runs.ts';

/** Aggregates of one batch written at once. */
const GROUP_CONCURRENCY = 8;

type Parsed =
  | { ok: true; raw: unknown; detail: unknown; validated: ReturnType<typeof validateIncoming> }
  | { ok: false; raw: unknown; error: PoisonEventError };

/**
 * Builds the applier of the ordinary lane: a batch's ordinary events are grouped per aggregate and each
 * aggregate is written with one transaction (its new events and its projection row), the row folded in
 * HLC order exactly as `applyMaterialized` would fold the same set (on top when every event is newer than
 * the row, else re-materialized from the log); watermarks advance once per origin for the whole batch.
 * Poison is quarantined and the rest applied; a record that fails for a transient reason is reported
 * failed (delivered again, idempotent by eventId). Anything else in a batch (heartbeats, other tiers) is
 * applied one by one by the per-event applier.
 * @example const report = await createBatchApplier(deps)(records); return { batchItemFailures: report.failed.map(...) };
 */
export function createBatchApplier(deps: ApplierDeps): ApplyReplicatedBatch {
  const now = deps.now ?? (() => new Date());
  const metrics = deps.metrics ?? NO_METRICS;
  /**
   * The per-event path of a batch (its heartbeats, other tiers, groups sent one by one): its watermark
   * advances are gathered into the batch's group commit, so they too stay below what the batch failed.
   */
  const deferred = new AsyncLocalStorage<Array<{ origin: string; hlc: string }>>();
  const watermarks: WatermarkStore = Object.create(deps.watermarks, {
    advance: {
      value: (origin: string, hlc: string, appliedAt: Date): Promise<boolean> => {
        const pending = deferred.getStore();
        if (!pending) return deps.watermarks.advance(origin, hlc, appliedAt);
        pending.push({ origin, hlc });
        return Promise.resolve(true);
      },
    },
  });
  const perEvent: ApplyReplicatedEvent = createApplier({ ...deps, watermarks });

  async function quarantine(raw: unknown, error: PoisonEventError): Promise<ApplyOutcome> {
    await deps.quarantine.quarantine({
      reason: error.reason,
      message: error.message,
      raw,
      receivedAt: now(),
      context: error.context,
    });
    metrics.quarantined(error.reason);
    return { status: 'quarantined', reason: error.reason, message: error.message };
  }

  /** The validated envelope of a lane message, or the poison it is (with what to quarantine). */
  async function envelopeOf(body: string): Promise<Parsed> {
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch {
      const error = new PoisonEventError(POISON_REASONS.invalidEnvelope, 'the lane message is not JSON');
      return { ok: false, raw: body, error };
    }
    const detail = (raw as { detail?: unknown } | null)?.detail;
    let envelope: unknown = detail;
    if (deps.eventKey) {
      const check = checkSignedDetail(detail, await deps.eventKey());
      if (!check.ok)
        return { ok: false, raw, error: new PoisonEventError(POISON_REASONS.unauthenticated, check.reason) };
      envelope = check.envelope;
    }
    try {
      const validated = validateIncoming(envelope, {
        region: deps.region,
        registry: deps.registry,
        clock: deps.clock,
        maxEventBytes: deps.events.maxEventBytes,
      });
      return { ok: true, raw, detail, validated };
    } catch (error) {
      if (error instanceof PoisonEventError) return { ok: false, raw, error };
      throw error;
    }
  }

  return function applyReplicatedBatch(records) {
    return deferred.run([], () => applyBatch(records));
  };

  async function applyBatch(records: readonly LaneRecord[]): Promise<BatchApplyReport> {
    const batch: BatchState = {
      outcomes: [],
      failed: new Set(),
      settled: [],
      envelopes: new Map(),
      receivedAt: new Map(),
      runs: 0,
      fallbacks: [],
    };
    const groups = new Map<string, Group>();
    const others: Array<{ id: string; detail: unknown; raw: unknown }> = [];
    for (const record of records) {
      const parsed = await envelopeOf(record.body);
      if (parsed.ok) batch.envelopes.set(record.id, parsed.validated.envelope);
      if (record.receivedAt) batch.receivedAt.set(record.id, record.receivedAt);
      if (!parsed.ok) await settle(batch, record.id, () => quarantine(parsed.raw, parsed.error));
      else if (parsed.validated.kind === 'heartbeat' || parsed.validated.aggregate.tier !== 'ordinary')
        others.push({ id: record.id, detail: parsed.detail, raw: parsed.raw });
      else
        addToGroup(groups, parsed.validated.aggregate, {
          envelope: parsed.validated.envelope,
          id: record.id,
          detail: parsed.detail,
          raw: parsed.raw,
        });
    }
    const rows = await deps.states.getStates(
      [...groups.values()].map((g) => ({ aggregateType: g.aggregate.name, aggregateId: g.aggregateId })),
    );
    await writeGroups(
      batch,
      [...groups.entries()].map(([key, group]) => ({ group, row: rows.get(key) })),
    );
    for (const other of others) await settle(batch, other.id, () => perEvent(other.detail, other.raw));
    await commitWatermarks(batch, deferred.getStore() ?? []);
    return {
      failed: [...batch.failed],
      outcomes: batch.outcomes,
      runs: batch.runs,
      fallbacks: batch.fallbacks,
    };
  }

  /**
   * Writes the groups of a batch: the first attempt packs the single runs of several aggregates into shared
   * TransactWriteItems (each run with its own row guard: all or nothing, so no row is ever behind its log);
   * the groups of a packed transaction DynamoDB does not take, for whatever reason, and the groups that
   * cannot be packed (several runs, a key collision, nothing new) take the per-group path (writeGroup).
   */
  async function writeGroups(
    batch: BatchState,
    groups: ReadonlyArray<{ group: Group; row: StateRecord | undefined }>,
  ): Promise<void> {
    const planned = await mapPool(groups, GROUP_CONCURRENCY, async (g) => ({
      ...g,
      packed: await packable(g),
    }));
    const alone = planned.filter((p) => p.packed === undefined);
    const transactions = packTransactions(
      planned.flatMap((p) => (p.packed ? [p.packed] : [])),
      (p) => p.weight,
    );
    const refused: PackedRun[] = [];
    const tasks = [
      ...transactions.map((packed) => async () => {
        if (!(await commitPacked(batch, packed))) refused.push(...packed);
      }),
      ...alone.map(
        ({ group, row }) =>
          () =>
            writeGroup(batch, group, row),
      ),
    ];
    await inPool(tasks, GROUP_CONCURRENCY, (task) => task());
    await inPool(refused, GROUP_CONCURRENCY, ({ group, row }) => writeGroup(batch, group, row));
  }

  /**
   * A group's write as a packed transaction's share: its one run planned on the row the batch read, its
   * fresh events and the row guarded by that row's version (as appendWithState guards it). Undefined when
   * the per-group path takes it: more than one run (its later runs need the first one's row), a key
   * collision, no fresh event, an append the store refuses to build, or a share over a transaction alone.
   * Switch `lane-packed-unguarded-row`: the row's Put without its condition.
   */
  async function packable(g: { group: Group; row: StateRecord | undefined }): Promise<PackedRun | undefined> {
    const { group, row } = g;
    const { kept, collided } = orderOf(group);
    const runs = runsOf(group.aggregate.tier, kept);
    if (collided.size > 0 || runs.length !== 1) return undefined;
    let plan: PackedRun['plan'];
    let items: TransactItem[];
    try {
      plan = await planRun(group.aggregate, group.aggregateId, runs[0]!, row);
      if (plan.fresh.length === 0) return undefined;
      const put = guardedStatePut(deps.states.table(), plan.record, row?.version ?? 0);
      const rowPut: TransactItem = bugEnabled('lane-packed-unguarded-row')
        ? { Put: { TableName: put.Put.TableName, Item: put.Put.Item } }
        : put;
      const onFailure = () => new StateVersionConflictError(group.aggregateId, row?.version ?? 0);
      items = deps.events.appendItems(plan.fresh, {
        tier: group.aggregate.tier,
        guards: [{ item: rowPut, onFailure }],
      });
    } catch {
      // A read that failed, an append the store refuses: the per-group path meets it and decides as today.
      return undefined;
    }
    const weight = weighTransactItems(items);
    const limits = GROUPED_TRANSACTION_LIMITS;
    if (weight.items > limits.items || weight.bytes > limits.bytes || weight.wire > limits.wire)
      return undefined;
    return { group, row, plan, items, weight };
  }

  /** Commits a packed transaction and settles its groups; false (nothing written) when DynamoDB refused it. */
  async function commitPacked(batch: BatchState, packed: readonly PackedRun[]): Promise<boolean> {
    try {
      await deps.events.commitGrouped(packed.flatMap((p) => p.items));
    } catch {
      // Cancelled (a row moved, a key taken, an event already in), throttled or refused: each group goes
      // again on its own, where today's path sorts it out (retries, poison one by one, quarantine).
      return false;
    }
    for (const { group, plan } of packed)
      await settleGroup(batch, group, {
        applied: [...plan.fresh],
        record: plan.record,
        runs: 1,
        collided: new Set(),
      });
    return true;
  }

  /**
   * Writes a group; poison in it (a key collision) or a transaction DynamoDB refuses as invalid (a
   * ValidationException: it would be refused on every delivery) sends its events one by one through the
   * per-event path, so the bad one alone is quarantined; a transient failure fails its records.
   */
  async function writeGroup(batch: BatchState, group: Group, row: StateRecord | undefined): Promise<void> {
    let result: Awaited<ReturnType<typeof applyGroup>>;
    try {
      result = await applyGroup(group, row);
    } catch (error) {
      const reason = error instanceof PoisonEventError ? `poison: ${error.reason}` : refusalOf(error);
      if (reason === undefined) for (const id of recordIdsOf(group)) batch.failed.add(id);
      else await fallBack(batch, group, reason);
      return;
    }
    await settleGroup(batch, group, result);
  }

  /** A group's written result in the batch: its settled events, its outcomes, its collided events one by one. */
  async function settleGroup(batch: BatchState, group: Group, result: GroupResult): Promise<void> {
    batch.runs += result.runs;
    const written = [...group.events.values()].filter((e) => !result.collided.has(e.envelope.eventId));
    for (const { envelope, ids } of written) batch.settled.push({ envelope, ids });
    batch.outcomes.push(...groupOutcomes(group, result));
    // Events whose key another event of the run took: alone, the per-event path quarantines the poison.
    await oneByOne(
      batch,
      [...group.events.values()].filter((e) => result.collided.has(e.envelope.eventId)),
    );
  }

  /** A group the lane cannot write at once: counted, reported, then sent one by one. */
  async function fallBack(batch: BatchState, group: Group, reason: string): Promise<void> {
    const events = [...group.events.values()];
    metrics.laneFallback(reason, events.length);
    batch.fallbacks.push({
      aggregateType: group.aggregate.name,
      aggregateId: group.aggregateId,
      events: events.length,
      reason,
    });
    await oneByOne(batch, events);
  }

  /** Applies events of a group through the per-event path, each record settled on its own. */
  async function oneByOne(batch: BatchState, events: readonly GroupedEvent[]): Promise<void> {
    for (const { ids, detail, raw } of events)
      for (const id of ids) await settle(batch, id, () => perEvent(detail, raw));
  }

  /**
   * Group commit: one watermark write per origin for the whole batch, to the newest HLC the batch settled
   * (applied or duplicate, so a redelivery heals a failed write) but never at or past the oldest event of
   * that origin the batch reports failed (it is not applied, and may never be).
   */
  async function commitWatermarks(
    batch: BatchState,
    perEventAdvances: ReadonlyArray<{ origin: string; hlc: string }>,
  ): Promise<void> {
    const failed = [...batch.failed].flatMap((id) => {
      const envelope = batch.envelopes.get(id);
      return envelope ? [envelope] : [];
    });
    const settled = [...batch.settled.map((s) => s.envelope), ...perEventAdvances];
    const advances = bugEnabled('lane-watermark-past-failed')
      ? cappedAdvances(settled, [])
      : cappedAdvances(settled, failed);
    await Promise.all(
      [...advances].map(async ([origin, hlc]) => {
        try {
          await deps.watermarks.advance(origin, hlc, arrivalOf(batch, origin, hlc) ?? now());
        } catch {
          // Applied, but the watermark did not move: delivered again, they are duplicates that advance it.
          for (const { envelope, ids } of batch.settled)
            if (envelope.origin === origin) for (const id of ids) batch.failed.add(id);
        }
      }),
    );
  }

  /** Writes one aggregate's events of the batch, in runs of at most MAX_RUN_EVENTS (HLC order). */
  async function applyGroup(group: Group, prefetched: StateRecord | undefined): Promise<GroupResult> {
    const { kept: ordered, collided } = orderOf(group);
    const applied: EventEnvelope[] = [];
    // The row the batch read; after a run, the row that run wrote (a writer in between fails its guard).
    let row: StateRecord | undefined = prefetched;
    let runs = 0;
    for (const run of runsOf(group.aggregate.tier, ordered)) {
      const result = await applyRun(group, run, row);
      applied.push(...result.applied);
      row = result.record;
      if (result.applied.length > 0) runs++;
    }
    return { applied, record: row ?? emptyRecord(group.aggregate, group.aggregateId), runs, collided };
  }

  /**
   * One transaction for a run of an aggregate's events: its new events and the row after them, guarded by
   * the row's version (a local command or another batch moved it: read again and redo). `known` is the
   * row as last read (undefined: none), used on the first attempt only.
   */
  async function applyRun(
    group: Group,
    events: readonly EventEnvelope[],
    known: StateRecord | undefined,
  ): Promise<{ applied: EventEnvelope[]; record: StateRecord | undefined }> {
    const { aggregate, aggregateId } = group;
    const maxAttempts = 8;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const stored = attempt === 1 ? known : await deps.states.getState(aggregate.name, aggregateId);
      const plan = await planRun(aggregate, aggregateId, events, stored);
      if (plan.fresh.length === 0) return { applied: [], record: stored };
      try {
        await appendWithState(deps, {
          tier: aggregate.tier,
          events: plan.fresh,
          record: plan.record,
          expectedVersion: stored?.version ?? 0,
        });
        return { applied: [...plan.fresh], record: plan.record };
      } catch (error) {
        lastError = retryable(error);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4 * attempt));
      }
    }
    throw new ApplyContentionError(aggregateId, maxAttempts, { cause: lastError });
  }

  /**
   * The events of a run not yet stored and the row after them: folded on top when each, in HLC order, is
   * newer than the row (what the per-event path does for each of them), else the materialization of the
   * log plus the new events (what it does for a late one). Both equal `materialize` of the whole set.
   */
  async function planRun(
    aggregate: AnyAggregate,
    aggregateId: string,
    events: readonly EventEnvelope[],
    stored: StateRecord | undefined,
  ): Promise<{ fresh: readonly EventEnvelope[]; record: StateRecord }> {
    const policy = policyFor(aggregate, deps.topology);
    let record = stored ?? emptyRecord(aggregate, aggregateId);
    const arrivalOrder = bugEnabled('batch-arrival-order');
    let onTop = true;
    for (const event of events) {
      if (arrivalOrder ? record.frozen : !canFoldOnTop(record, event, policy)) {
        onTop = false;
        break;
      }
      record = foldOnTop(aggregate, policy, { record, event, now });
    }
    if (onTop) return { fresh: events, record };
    const log = await deps.events.loadStream(aggregate.name, aggregateId);
    const known = new Set(log.map((e) => e.eventId));
    const fresh = events.filter((e) => !known.has(e.eventId));
    if (fresh.length === 0) return { fresh, record: stored ?? emptyRecord(aggregate, aggregateId) };
    const result = materialize({ aggregate, aggregateId, policy, events: [...log, ...fresh], now });
    return { fresh, record: result.record };
  }
}

/** A group's events in HLC order, one per key (the others, collided, go down the per-event path). */
function orderOf(group: Group): { kept: EventEnvelope[]; collided: Set<string> } {
  const arrived = [...group.events.values()].map((e) => e.envelope);
  // The lane must never decide by arrival what the HLC orders (the bug switch does, to be caught).
  const sorted = bugEnabled('batch-arrival-order') ? arrived : sortByHlc(arrived);
  return bugEnabled('lane-same-key-run')
    ? { kept: sorted, collided: new Set<string>() }
    : oneEventPerKey(group.aggregate, sorted);
}

/** What writing a group came to: the events it applied, the row after them, its runs, its collided events. */
interface GroupResult {
  readonly applied: EventEnvelope[];
  readonly record: StateRecord;
  readonly runs: number;
  readonly collided: ReadonlySet<string>;
}

/** A group's one run planned for a packed transaction, with the row it was planned on. */
interface PackedRun {
  readonly group: Group;
  readonly row: StateRecord | undefined;
  readonly plan: { readonly fresh: readonly EventEnvelope[]; readonly record: StateRecord };
  readonly items: TransactItem[];
  readonly weight: TransactionWeight;
}

/**
 * The first event of each key in HLC order, and the ids of the others: DynamoDB refuses a transaction
 * naming one item twice ("multiple operations on one item"), so a second event claiming a key (a forged
 * or buggy event at the same HLC) goes down the per-event path, where the key taken makes it poison.
 */
function oneEventPerKey(
  aggregate: AnyAggregate,
  events: readonly EventEnvelope[],
): { kept: EventEnvelope[]; collided: Set<string> } {
  const keys = new Set<string>();
  const kept: EventEnvelope[] = [];
  const collided = new Set<string>();
  for (const event of events) {
    const key = eventSortKey(aggregate.tier, event);
    if (keys.has(key)) collided.add(event.eventId);
    else {
      keys.add(key);
      kept.push(event);
    }
  }
  return { kept, collided };
}

/** A lost race is retried; a key collision is poison; anything else is thrown as it is. */
function retryable(error: unknown): unknown {
  if (error instanceof ConcurrencyError)
    throw new PoisonEventError(POISON_REASONS.keyCollision, error.message, {}, { cause: error });
  if (error instanceof StateVersionConflictError || isTransactionConflict(error)) return error;
  throw error;
}

/** What a batch has come to so far. */
interface BatchState {
  readonly outcomes: Array<{ id: string; outcome: ApplyOutcome }>;
  readonly failed: Set<string>;
  /** The distinct events the batch's transactions settled (applied or already stored), with their records. */
  readonly settled: Settled[];
  /** Each parsed record's envelope (for the failed ones' origin and HLC). */
  readonly envelopes: Map<string, EventEnvelope>;
  /** Each record's arrival in the lane, when its caller gave it (LaneRecord.receivedAt). */
  readonly receivedAt: Map<string, Date>;
  runs: number;
  readonly fallbacks: LaneFallback[];
}

/**
 * When the newest settled event of `origin` (at `hlc`) reached the lane: the earliest arrival of the records
 * that carried it, undefined when none says (a heartbeat of the batch, a caller without SentTimestamp).
 */
function arrivalOf(batch: BatchState, origin: string, hlc: string): Date | undefined {
  if (bugEnabled('lane-lag-counts-window')) return undefined;
  const event = batch.settled.find((s) => s.envelope.origin === origin && s.envelope.hlc === hlc);
  const arrivals = (event?.ids ?? []).flatMap((id) => batch.receivedAt.get(id)?.getTime() ?? []);
  return arrivals.length > 0 ? new Date(Math.min(...arrivals)) : undefined;
}

/** Records a record's outcome, or its failure (delivered again) when getting it threw. */
async function settle(batch: BatchState, id: string, outcome: () => Promise<ApplyOutcome>): Promise<void> {
  try {
    batch.outcomes.push({ id, outcome: await outcome() });
  } catch {
    batch.failed.add(id);
  }
}

/** `task` over `items`, at most `limit` at a time, results in the items' order. */
async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  await inPool([...items.keys()], limit, async (i) => {
    results[i] = await task(items[i]!);
  });
  return results;
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function inPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
