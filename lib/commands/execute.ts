import { ulid } from 'ulid';
import type { HybridLogicalClock } from '../clock/clock.ts';
import { ClockDriftError, decodeHlc } from '../clock/hlc.ts';
import { bugEnabled } from '../faults/switches.ts';
import { mergeHistory, readArchivedEvents } from '../lifecycle/archive.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import { HistoryIncompleteError } from '../lifecycle/errors.ts';
import { recordOfSnapshot, stateVersionOf } from '../lifecycle/snapshot.ts';
import type { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { CoreAppendLanded } from '../lifecycle/snapshot-writer.ts';

import type { AnyAggregate } from '../model/aggregate.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { type AggregateRegistry, parseCommand, upcastEvent } from '../model/registry.ts';
import { LeaseExpiredError } from '../ownership/errors.ts';
import { partitionOf } from '../ownership/partition.ts';
import { archivedThrough, isArchivedStub, needsBase } from '../store/archived-stub.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { AppendGuard, EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { guardedStatePut, type StateRecord, type StateStore } from '../store/state-store.ts';
import { chainedRun } from './chain.ts';
import { committedThrough } from './committed-through.ts';
import { envelopeEvents } from './envelopes.ts';
import { isEpochNoOp } from './epoch-no-op.ts';
import { AggregateFrozenError, ContentionError, QuorumAckError } from './errors.ts';
import { copyHeadBeforeAck, sealBeforeLocalAnswer } from './noop-ack.ts';

/** Snapshots an aggregate keeps (lib/lifecycle SNAPSHOTS_TRIED; not imported: that module imports this one). */
const SNAPSHOTS_KEPT = 3;

/** What a core append needs from ownership: the partition's epoch and the fencing guards. */
export interface CoreWriteFence {
  readonly epoch: number;
  readonly guards: readonly AppendGuard[];
  /**
   * Called right before the append: throws (LeaseExpiredError, 503) when the lease the write was granted
   * under has run out meanwhile, else returns the append's timeout in ms (lib/ownership/fencing-budget.ts).
   */
  readonly reconfirm?: () => number | undefined;
  /**
   * Called before an answer that appends nothing (a refusal, a no-op, a landed retry): throws
   * (StaleEpochError) when the region's own copy of the entry no longer names it the active home at the
   * lease's epoch. A cooperative Switchover lets the new home write as soon as that copy carries the
   * fence, possibly while this lease still runs: an answer decided here must precede that.
   */
  readonly confirmAnswer?: () => Promise<void>;
}

/** The answer-side fence check (CoreWriteFence.confirmAnswer), unless the bug switch turns it off. */
async function confirmAnswer(fence: CoreWriteFence | undefined): Promise<void> {
  fence?.reconfirm?.();
  if (!bugEnabled('refusal-unconfirmed')) await fence?.confirmAnswer?.();
}

export interface CommandDeps {
  readonly registry: AggregateRegistry;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly clock: HybridLogicalClock;
  readonly region: string;
  readonly partitions: number;
  /** Fencing hook for core writes (the ownership module); without it epoch 0 and no guard. */
  readonly fenceCoreWrite?: (partition: number) => Promise<CoreWriteFence>;
  /**
   * `core.ack: 'quorum'`: copies a core write's envelopes, once they are in the local log and row, to
   * enough peer regions that a majority of all regions holds them before the client is answered (see
   * `quorumReplicator`); when it throws (503), the write stays in the home's log, outcome unknown, and the
   * next write of the aggregate carries it to the peers that lack it, as does a retry that finds it done
   * (a no-op copies the head it decided on before answering: `copyHeadBeforeAck`).
   */
  readonly replicateBeforeAck?: (
    envelopes: readonly EventEnvelope[],
    writer?: { readonly epoch: number },
  ) => Promise<void>;
  readonly maxAttempts?: number;
  /**
   * Called at the home once a core append and its row are stored (lib/lifecycle `snapshotWriter`: a
   * snapshot every `lifecycle.snapshotEvery` events). Must not throw: the write has landed.
   */
  readonly afterCoreAppend?: (landed: CoreAppendLanded) => Promise<void>;
  /**
   * The region's snapshots (lib/lifecycle): a retry of a landed write on a log whose oldest events were
   * archived is answered from a snapshot before the write instead of a fold from seq 1.
   */
  readonly snapshots?: SnapshotStore;
  /**
   * The region's archive (lib/lifecycle): a retry of a landed write whose events (or everything below the
   * kept snapshots) were archived is answered from the log with its stubs' archived copies put back.
   */
  readonly archive?: ArchiveStore;
}

export interface CommandRequest {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly command: { readonly type: string; readonly payload?: unknown };
  readonly correlationId?: string;
  readonly causationId?: string;
  /**
   * The client's idempotency key (also the events' causationId). A core command whose key names a write
   * the aggregate's log already holds (its row's `causes`) answers with that write instead of writing
   * again: the retry of a 503 whose append had landed.
   */
  readonly idempotencyKey?: string;
}

/** Where a write landed: enough for a reader elsewhere to tell whether it holds it. */
export interface ConsistencyToken {
  readonly origin: string;
  readonly hlc: string;
  /** Core: the last event's seq, epoch and id, which identify the write on its aggregate's log. */
  readonly write?: { readonly seq: number; readonly epoch: number; readonly eventId: string };
}

export interface CommandResult {
  readonly events: EventEnvelope[];
  readonly record: StateRecord;
  readonly state: unknown;
  readonly token: ConsistencyToken | null;
}

/** The projection row before an aggregate's first event. */
export function emptyRecord(aggregate: AnyAggregate, aggregateId: string): StateRecord {
  return {
    aggregateType: aggregate.name,
    aggregateId,
    state: canonicalJson(aggregate.initialState()),
    version: 0,
    seq: 0,
    head: null,
    vv: {},
    lastSortKey: null,
    frozen: false,
    updatedAt: new Date(0).toISOString(),
  };
}

/**
 * How many recent commands a core row remembers by cause: a retry with the same idempotency key finds its
 * landed write while fewer than this many other commands were written to the aggregate since.
 */
export const RECENT_CAUSES = 16;

/** The row's recent causes with `cause` last (a command of several events counts once). */
function withCause(causes: readonly string[] | undefined, cause: string): readonly string[] {
  const known = causes ?? [];
  if (known[known.length - 1] === cause) return known;
  return [...known, cause].slice(-RECENT_CAUSES);
}

/** Folds events (already in log order) on top of a projection row. */
export function foldRecord(
  aggregate: AnyAggregate,
  record: StateRecord,
  events: readonly EventEnvelope[],
): StateRecord {
  let state = JSON.parse(record.state) as unknown;
  let next = record;
  const core = aggregate.tier === 'core';
  for (const event of events) {
    // An archived stub has no payload here: folding it would give a state the aggregate never had.
    if (isArchivedStub(event))
      throw new HistoryIncompleteError(aggregate.name, record.aggregateId, event.seq, {
        archivedSeq: event.seq,
      });
    // A home's epoch no-op is the platform's: a version of the row, nothing of the aggregate's state.
    const own = isEpochNoOp(event);
    if (!own) state = aggregate.evolve(state, upcastEvent(aggregate, event));
    next = {
      ...next,
      version: next.version + 1,
      seq: core ? event.seq : 0,
      head: event.hlc,
      vv: event.vv,
      lastSortKey: eventSortKey(aggregate.tier, event),
      ...(core && !own ? { causes: withCause(next.causes, event.causationId) } : {}),
    };
  }
  const { dueKey: _key, dueAt: _at, ...folded } = next;
  const dueAt = aggregate.dueAt?.(state) ?? null;
  return {
    ...folded,
    state: canonicalJson(state),
    updatedAt: new Date().toISOString(),
    ...(dueAt === null ? {} : { dueKey: aggregate.name, dueAt }),
  };
}

/** How often a core write whose lease ran out in flight is decided again before the 503 reaches the client. */
const MAX_LEASE_RETRIES = 2;

/**
 * Decides a command against the aggregate's current state and appends the resulting events: core with a
 * conditional append on the sequence (plus fencing guards), other tiers atomically with their projection
 * row so that writers in one region are serialized. Retries on optimistic-concurrency conflicts.
 */
export async function executeCommand(deps: CommandDeps, request: CommandRequest): Promise<CommandResult> {
  const aggregate = deps.registry.get(request.aggregateType);
  const command = parseCommand(aggregate, { type: request.command.type, payload: request.command.payload });
  const maxAttempts = deps.maxAttempts ?? 10;
  let lastError: unknown;
  let leaseExpiries = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      // Core: the home's lease first, then the state. A refusal (InsufficientFunds...) or a no-op is an
      // answer about the aggregate's state too, so it is given only by the writable home, from a row read
      // under its lease, and only while that lease still holds; elsewhere the client gets NotHome/Fenced
      // (forwarded or 503), never a decision taken on a stale replica (bug switch: unfenced-refusal).
      const early = aggregate.tier === 'core' && !bugEnabled('unfenced-refusal');
      const fence = early ? await fenceFor(deps, aggregate, request) : undefined;
      const record = await currentRecord(deps, aggregate, request.aggregateId);
      if (landedBefore(record, request)) return await answerLanded(deps, { aggregate, request }, fence);
      if (record.frozen) {
        await confirmAnswer(fence);
        throw new AggregateFrozenError(aggregate.name, request.aggregateId);
      }
      let domainEvents: ReturnType<AnyAggregate['decide']>;
      try {
        domainEvents = aggregate.decide(command, JSON.parse(record.state), { now: deps.clock.wallNow() });
      } catch (refusal) {
        return await answerRefusal(deps, { aggregate, record, request }, fence, refusal);
      }
      if (domainEvents.length === 0) {
        fence?.reconfirm?.();
        return await answerNoOp(deps, { aggregate, record, request }, fence);
      }
      return await appendDecided(deps, { aggregate, record, request, domainEvents }, fence);
    } catch (error) {
      // A write that ran out of lease appended nothing: decide again on a fresh lease, a few times.
      const expired = error instanceof LeaseExpiredError && ++leaseExpiries <= MAX_LEASE_RETRIES;
      if (!(error instanceof ConcurrencyError) && !expired) throw error;
      lastError = error;
      // Jittered backoff so that a crowd of writers on one aggregate spreads out instead of colliding again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
  throw new ContentionError(request.aggregateId, maxAttempts, { cause: lastError });
}

/**
 * A refusal (the decider threw) is an answer about the state it was decided on: given only while the
 * home's lease holds, and under `core.ack: local` on a head of the home's epoch (`sealBeforeLocalAnswer`).
 */
async function answerRefusal(
  deps: CommandDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; request: CommandRequest },
  fence: CoreWriteFence | undefined,
  refusal: unknown,
): Promise<never> {
  const seal = await sealBeforeLocalAnswer(deps, input.aggregate, input.record, fence);
  if (seal) await appendDecided(deps, { ...input, domainEvents: [seal] }, fence);
  await confirmAnswer(fence);
  throw refusal;
}

/**
 * The answer to a command decided as a no-op: the state it was decided on, under `core.ack: quorum` once
 * the head it was decided on is committed (`copyHeadBeforeAck`); a head of an earlier epoch gets the
 * home's epoch no-op written on top of it first (under `local` too: `sealBeforeLocalAnswer`), and the
 * answer is the row after it (nothing of the aggregate's state changes).
 */
async function answerNoOp(
  deps: CommandDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; request: CommandRequest },
  fence: CoreWriteFence | undefined,
): Promise<CommandResult> {
  const noOp =
    (await copyHeadBeforeAck(deps, input.aggregate, input.record, fence)) ??
    (await sealBeforeLocalAnswer(deps, input.aggregate, input.record, fence));
  if (!noOp) await confirmAnswer(fence);
  const after = noOp
    ? (await appendDecided(deps, { ...input, domainEvents: [noOp] }, fence)).record
    : input.record;
  return { events: [], record: after, state: JSON.parse(after.state), token: null };
}

/** A core command whose idempotency key names a write the row has folded (a retry of an unknown outcome). */
function landedBefore(record: StateRecord, request: CommandRequest): boolean {
  if (!request.idempotencyKey || bugEnabled('retry-rewrites')) return false;
  return record.causes?.includes(request.idempotencyKey) ?? false;
}

/**
 * The answer to a retry whose write is already in the log: that write's events and the state right after
 * them, given (like a refusal) only while the home's lease holds, and under `core.ack: quorum` only once a
 * majority holds them, exactly as the first attempt would have answered had it not timed out.
 */
async function answerLanded(
  deps: CommandDeps,
  input: { aggregate: AnyAggregate; request: CommandRequest },
  fence: CoreWriteFence | undefined,
): Promise<CommandResult> {
  const { aggregate, request } = input;
  // A home's epoch no-op carries the cause of the command it sealed a head for (a refusal of an earlier
  // attempt): the platform's own entry, never one of the write's events.
  const ofWrite = (e: EventEnvelope) => e.causationId === request.idempotencyKey && !isEpochNoOp(e);
  const hot = await deps.events.loadStream(aggregate.name, request.aggregateId);
  const { base, logged } = await landedBase(deps, aggregate, {
    aggregateId: request.aggregateId,
    logged: hot,
    ofWrite,
  });
  const log = chainedRun(base, logged);
  const last = log.findLastIndex(ofWrite);
  const events = log.filter(ofWrite);
  // The row names the cause, so its log holds it; a log that does not (rebuilt meanwhile) retries.
  if (events.length === 0) throw new ConcurrencyError(request.aggregateId, 'its landed write', undefined);
  const after = foldRecord(aggregate, base, log.slice(0, last + 1));
  await confirmAnswer(fence);
  if (deps.replicateBeforeAck) {
    const through = committedThrough(log, events, fence);
    if (!through) {
      const why = `its write is of epoch ${events[events.length - 1]!.epoch}, the home's is ${fence?.epoch}, and none of it is on top`;
      throw new QuorumAckError(request.aggregateId, [], 1_000, { cause: new Error(why) });
    }
    await deps.replicateBeforeAck(through, fence);
  }
  return resultOf(aggregate, events, after);
}

/**
 * What a landed write's answer is folded from, and over which log: the empty row over the hot log while it
 * holds every event whole from seq 1; else (its oldest events archived: stubs, or gone) the newest snapshot
 * before the write that the log confirms at or above its stubs; else the empty row over the log with its
 * stubs' archived copies put back (`deps.archive`). Without either, the fold meets a stub and refuses
 * (HistoryIncompleteError), or finds no write (ConcurrencyError): never an answer folded from nothing.
 */
async function landedBase(
  deps: CommandDeps,
  aggregate: AnyAggregate,
  input: {
    aggregateId: string;
    logged: readonly EventEnvelope[];
    ofWrite: (e: EventEnvelope) => boolean;
  },
): Promise<{ base: StateRecord; logged: readonly EventEnvelope[] }> {
  const empty = { base: emptyRecord(aggregate, input.aggregateId), logged: input.logged };
  const first = input.logged.find(input.ofWrite);
  if (!first || !needsBase(input.logged)) return empty;
  const through = archivedThrough(input.logged);
  let tried = 0;
  for await (const snapshot of deps.snapshots?.newestFirst(aggregate.name, input.aggregateId) ?? []) {
    if (++tried > SNAPSHOTS_KEPT) break;
    if (snapshot.seq >= first.seq || snapshot.seq < through) continue;
    if (snapshot.stateVersion !== stateVersionOf(aggregate)) continue;
    const at = input.logged.find((e) => e.seq === snapshot.seq);
    if (at?.eventId === snapshot.headEventId)
      return { base: recordOfSnapshot(snapshot), logged: input.logged };
  }
  if (!deps.archive || bugEnabled('rebuild-ignores-archive')) return empty;
  const archived = await readArchivedEvents(deps.archive, aggregate.name, input.aggregateId);
  return { base: empty.base, logged: mergeHistory(archived, input.logged) };
}

/**
 * The new events must sort after the head they were decided on, even when another region wrote that head
 * with a clock ahead of ours (a core partition that just moved here): the clock receives the head first.
 * Read-your-writes relies on this (core: state head >= token). A head further ahead than maxDriftMs is
 * not merged, so a peer with a broken clock cannot block writes; ordering may then lag that far.
 */
function observeHead(clock: HybridLogicalClock, head: string | null): void {
  if (!head) return;
  try {
    clock.receive(decodeHlc(head));
  } catch (error) {
    if (!(error instanceof ClockDriftError)) throw error;
  }
}

/**
 * A core projection row caught up with its log: folds the events the log holds beyond the row that extend
 * it (`chainedRun`: up to the first gap or the first event of another branch), and stores the row when it
 * moved (a writer may have died between its append and its row, or a quorum-ack copy may have been written
 * without a row). The write holds only while the stored row is still the one folded from (same version
 * and head); when another writer moved it, the row is read and caught up again, a few times, then
 * ConcurrencyError.
 */
/** Events folded by one checked catch-up write: with the row's Put, within TransactWriteItems' 100 items. */
const CHECKED_RUN = 98;

export async function catchUpCoreRow(
  deps: { readonly events: EventStore; readonly states: StateStore },
  aggregate: AnyAggregate,
  aggregateId: string,
  stored?: StateRecord,
): Promise<StateRecord> {
  const read = async () =>
    (await deps.states.getState(aggregate.name, aggregateId)) ?? emptyRecord(aggregate, aggregateId);
  let row = stored ?? (await read());
  for (let attempt = 1; attempt <= 5; attempt++) {
    const logged = await deps.events.loadStream(aggregate.name, aggregateId, {
      ...(row.lastSortKey ? { afterSortKey: row.lastSortKey } : {}),
    });
    // At most CHECKED_RUN events per write: each is checked in the write's transaction (100 items).
    const run = chainedRun(row, logged).slice(0, CHECKED_RUN);
    if (run.length === 0) return row;
    const caughtUp = foldRecord(aggregate, row, run);
    // Only while the log still holds every event folded: a branch retired meanwhile (its events deleted,
    // then the row rebuilt, a write skipped when the row already is the fold) must not come back as this
    // row (bug switch: the put guarded on the row alone).
    const written = bugEnabled('unchecked-catch-up')
      ? await deps.states.putStateIf(caughtUp, row)
      : await deps.states.putStateIfChecked(
          caughtUp,
          row,
          run.map((event) => deps.events.slotHolds(event)),
        );
    if (written && run.length < CHECKED_RUN) return caughtUp;
    if (written) {
      // A longer run: the next part, without counting it as a lost race.
      row = caughtUp;
      attempt--;
      continue;
    }
    row = await read();
  }
  // Never a row behind its log (a refusal decided on it would answer for a state the aggregate never had):
  // the caller retries (executeCommand) or leaves the partition blocked (CollectCopies).
  throw new ConcurrencyError(aggregateId, 'its row caught up with its log', undefined);
}

/**
 * The row a read answers with: a core row caught up with its log first (a home whose append landed but
 * whose row write did not — the append timed out, the process died — must not serve a state its log is
 * already past, which replicas folding that event would show); null when the aggregate has no event.
 */
export async function readRecord(
  deps: { readonly events: EventStore; readonly states: StateStore },
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<StateRecord | null> {
  const stored = await deps.states.getState(aggregate.name, aggregateId);
  if (aggregate.tier !== 'core') return stored ?? null;
  const row = await catchUpCoreRow(
    deps,
    aggregate,
    aggregateId,
    stored ?? emptyRecord(aggregate, aggregateId),
  );
  return row.version === 0 ? null : row;
}

/** The projection row, caught up with any events the log has beyond it (see catchUpCoreRow). */
async function currentRecord(
  deps: CommandDeps,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<StateRecord> {
  const stored =
    (await deps.states.getState(aggregate.name, aggregateId)) ?? emptyRecord(aggregate, aggregateId);
  if (aggregate.tier !== 'core') return stored;
  return catchUpCoreRow(deps, aggregate, aggregateId, stored);
}

/**
 * Before a decision is taken on this region's core row of `aggregateId` without a command (a saga's dry
 * run): this region must be the writable home and its own copy of the entry must still say so
 * (`CoreWriteFence.confirmAnswer`, the check a refusal makes). NotHome / StaleEpoch (421) when it is not,
 * PartitionFenced while the partition moves. Nothing to check without ownership.
 */
export async function confirmHomeHere(deps: CommandDeps, aggregateId: string): Promise<void> {
  if (!deps.fenceCoreWrite) return;
  const fence = await deps.fenceCoreWrite(partitionOf(aggregateId, deps.partitions));
  await fence.confirmAnswer?.();
}

/** The core write fence of the request's partition (undefined for other tiers, or without ownership). */
function fenceFor(deps: CommandDeps, aggregate: AnyAggregate, request: CommandRequest) {
  return aggregate.tier === 'core' && deps.fenceCoreWrite
    ? deps.fenceCoreWrite(partitionOf(request.aggregateId, deps.partitions))
    : Promise.resolve(undefined);
}

async function appendDecided(
  deps: CommandDeps,
  input: {
    aggregate: AnyAggregate;
    record: StateRecord;
    request: CommandRequest;
    domainEvents: ReturnType<AnyAggregate['decide']>;
  },
  taken?: CoreWriteFence,
): Promise<CommandResult> {
  const { aggregate, record, request } = input;
  const partition = partitionOf(request.aggregateId, deps.partitions);
  const fence = taken ?? (await fenceFor(deps, aggregate, request));
  const correlationId = request.correlationId ?? ulid();
  // Important/ordinary rows are folded in HLC order (and read-your-writes compares HLCs): sort after the head.
  observeHead(deps.clock, record.head);
  const envelopes = envelopeEvents(input.domainEvents, {
    aggregate,
    aggregateId: request.aggregateId,
    partition,
    region: deps.region,
    clock: deps.clock,
    epoch: fence?.epoch ?? 0,
    seq: record.seq,
    vv: record.vv,
    head: record.head,
    correlationId,
    causationId: request.causationId ?? correlationId,
  });
  const next = foldRecord(aggregate, record, envelopes);
  if (aggregate.tier === 'core') {
    // Local append first: the conditional put is the one reservation of this seq in this epoch, so a
    // peer is only ever sent events of the home's log (bug switch: the old copy-first order). The row
    // follows the log at once: a write answered 503 is the home's history, outcome unknown, replicated
    // like any event and on a majority at the latest with the next acknowledged write on top of it.
    const copyFirst = bugEnabled('quorum-cleanup-delete');
    if (copyFirst) await deps.replicateBeforeAck?.(envelopes, fence);
    // The lease may have run out while the write was in flight (a pause, a slow decide): check it again,
    // and bound the append's own time in flight, which the skew margin covers.
    const timeoutMs = fence?.reconfirm?.();
    await deps.events.appendEvents(envelopes, {
      tier: 'core',
      guards: fence?.guards ?? [],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    await deps.states.putState(next);
    if (!copyFirst) await deps.replicateBeforeAck?.(envelopes, fence);
    await deps.afterCoreAppend?.({ aggregate, before: record, after: next, events: envelopes });
  } else {
    // The projection row rides in the same transaction: its version check serializes local writers.
    const statePut = guardedStatePut(deps.states.table(), next, record.version);
    await deps.events.appendEvents(envelopes, {
      tier: aggregate.tier,
      guards: [
        {
          item: statePut,
          onFailure: () => new ConcurrencyError(request.aggregateId, `version ${record.version}`, undefined),
        },
      ],
    });
  }
  return resultOf(aggregate, envelopes, next);
}

/** A command's result: its events, the row after them, and the token that names the write. */
function resultOf(aggregate: AnyAggregate, envelopes: EventEnvelope[], next: StateRecord): CommandResult {
  const last = envelopes[envelopes.length - 1]!;
  return {
    events: envelopes,
    record: next,
    state: JSON.parse(next.state),
    token: {
      origin: decodeHlc(last.hlc).region,
      hlc: last.hlc,
      ...(aggregate.tier === 'core'
        ? { write: { seq: last.seq, epoch: last.epoch, eventId: last.eventId } }
        : {}),
    },
  };
}
