import { type CoreHead, extendsHead, headOf } from '../commands/chain.ts';
import { type CoreWriteFence, catchUpCoreRow, emptyRecord } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { REGISTER_SORT_KEY } from '../ownership/dynamodb-replica.ts';
import { StaleEpochError } from '../ownership/errors.ts';
import { cutGuard } from '../ownership/failover-cut.ts';
import { partitionKey } from '../ownership/partition-map.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { AppendGuard, EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import type { StateRecord, StateStore } from '../store/state-store.ts';
import { GapFetchError, POISON_REASONS, PoisonEventError } from './errors.ts';
import type { ParkingStore } from './parking.ts';
import type { OriginReader } from './ports.ts';

/** What placing, draining and gap-fetching core events needs (the applier's core deps). */
export interface CoreDrainDeps {
  readonly events: EventStore;
  readonly states: StateStore;
  readonly parking: ParkingStore;
  /** Fetches a gap from the origin's store once it is older than `gapTimeoutMs`; without it, gaps wait. */
  readonly originReader?: OriginReader;
  readonly gapTimeoutMs: number;
  readonly now: () => Date;
  /** A parked or fetched event that cannot be applied (fencing violation, invalid) goes here. */
  readonly quarantineParked: (event: EventEnvelope, error: PoisonEventError) => Promise<void>;
  /**
   * Validates an event fetched from an origin's store exactly as a delivered one (envelope schema, origin,
   * type, payload, size, clock drift); throws PoisonEventError.
   */
  readonly validateFetched: (raw: unknown) => EventEnvelope;
  /**
   * This region's control table: each core append of an event that comes from its origin's own log
   * condition-checks, in its transaction, that no Failover cut that origin's history here past the event's
   * epoch (lib/ownership/failover-cut.ts); a refused event is quarantined `SupersededByFailover`. Without
   * it (a read-only tool, old test wiring) nothing is checked.
   */
  readonly controlTable?: string;
  /**
   * `core.ack: local`: this region's name. A Failover under local ack collects nothing, so the new home's
   * history is whatever of the lost home's reached it: a cut event is still taken here while this region
   * holds the home's lease (`homeLease`, in place of the cut), so it extends the home's log instead of
   * leaving a survivor that applied it before the cut forked by the home's next write (review-finding-2).
   * Once the partition moves on, the cut holds. Unset (quorum ack: the new home refuses what its
   * collection did not take): the cut alone decides.
   */
  readonly homeTakesCut?: string;
  /**
   * With `homeTakesCut`: the write path's home lease for a partition (PartitionOwnership.homeLeaseForApply:
   * a majority read of the register, the local copy at its exact epoch and ballot as the append's guard,
   * `reconfirm` right before the append), undefined when another region is the home. Not the region's own
   * copy alone: a home lost in turn comes back with a stale copy still naming it home and active, and would
   * take a cut event its successor never had (review-finding-2b). Throws without a majority (the event is
   * retried: redelivered, or left parked for the next sweep). Without it no cut event is taken.
   */
  readonly homeLease?: (partition: number) => Promise<HomeLease | undefined>;
}

/** What a home's lease gives the append of a cut event it takes (a subset of the write path's fence). */
export type HomeLease = Pick<CoreWriteFence, 'guards' | 'reconfirm'>;

/** A Failover cut the event's origin's history in this region (see CoreDrainDeps.controlTable). */
export class CutRefusedError extends Error {
  override readonly name = 'CutRefusedError';
  constructor(readonly event: EventEnvelope) {
    super(
      `${event.aggregateType} ${event.aggregateId} seq ${event.seq} of ${event.origin} (epoch ${event.epoch}): a Failover cut ${event.origin}'s history of partition ${event.partition} here past that epoch`,
    );
  }
}

/** The cut check of an append of `event` (none without a control table, or with switch `applier-ignores-failover-cut`). */
export function cutGuardsOf(deps: Pick<CoreDrainDeps, 'controlTable'>, event: EventEnvelope): AppendGuard[] {
  if (!deps.controlTable || bugEnabled('applier-ignores-failover-cut')) return [];
  return [{ item: cutGuard(deps.controlTable, event), onFailure: () => new CutRefusedError(event) }];
}

/** The poison a cut event is: quarantined, never appended, never counted in a watermark. */
export function superseded(error: CutRefusedError): PoisonEventError {
  const { event } = error;
  return new PoisonEventError(POISON_REASONS.supersededByFailover, error.message, {
    seq: event.seq,
    epoch: event.epoch,
    origin: event.origin,
    partition: event.partition,
  });
}

/** A different event already holds `event`'s seq: a fork, never overwritten. */
export function fencingViolation(event: EventEnvelope, existing: string | undefined, cause?: unknown) {
  return new PoisonEventError(
    POISON_REASONS.fencingViolation,
    `${event.aggregateType} ${event.aggregateId} seq ${event.seq} is already event ${existing ?? 'unknown'}`,
    { seq: event.seq, existing, epoch: event.epoch },
    cause ? { cause } : undefined,
  );
}

/**
 * Appends one core event at its sequence; a different event already there is a fencing violation. With
 * `cut` (default: the event comes from its origin's own log), the append also checks the region's Failover
 * cut of that origin: a cut event is poison `SupersededByFailover` unless this very event is logged already.
 */
export async function appendAtSeq(
  deps: CoreDrainDeps,
  event: EventEnvelope,
  options: { readonly cut?: boolean; readonly cutEpoch?: number } = {},
): Promise<boolean> {
  const checked = options.cutEpoch === undefined ? event : { ...event, epoch: options.cutEpoch };
  const guards = options.cut === false ? [] : cutGuardsOf(deps, checked);
  try {
    return (await deps.events.appendEvents([event], { tier: 'core', received: true, guards })).appended > 0;
  } catch (error) {
    if (error instanceof ConcurrencyError) throw fencingViolation(event, error.actual, error);
    if (error instanceof CutRefusedError) {
      const existing = await storedAt(deps, event);
      if (existing?.eventId === event.eventId) return false;
      const taken = await appendAsHome(deps, event);
      if (taken !== undefined) return taken;
      throw superseded(error);
    }
    throw error;
  }
}

/**
 * A cut event appended at the home under local ack (see CoreDrainDeps.homeTakesCut): on the home's lease
 * (`homeLease`) instead of the cut. Undefined: not taken (no such deps, switch `home-refuses-cut-events`,
 * or this region is not the home). Bug switch `applier-home-check-local-copy`: the region's own copy of
 * the entry alone decides (home and active), whatever a majority says.
 */
async function appendAsHome(deps: CoreDrainDeps, event: EventEnvelope): Promise<boolean | undefined> {
  const self = deps.homeTakesCut;
  if (!self || !deps.controlTable || bugEnabled('home-refuses-cut-events')) return undefined;
  for (let attempt = 1; ; attempt++) {
    const lease = bugEnabled('applier-home-check-local-copy')
      ? { guards: [ownCopyGuard(deps.controlTable, self, event)] }
      : await deps.homeLease?.(event.partition);
    if (!lease) return undefined;
    try {
      return await appendOnLease(deps, event, lease);
    } catch (error) {
      // The local copy is no longer at the lease's epoch and ballot: a fence or a move reached it since
      // (a fresh lease then names another home: not taken), or the entry was superseded still naming this
      // region home (the fresh lease takes it). Never "not the home" from a stale guard alone: that would
      // quarantine the event for good (review-finding-3 LOW). Still stale after a few fresh reads: the
      // error is transient, the delivery is retried. Bug switch `home-lease-stale-quarantines`.
      if (!(error instanceof StaleEpochError)) throw error;
      if (bugEnabled('home-lease-stale-quarantines')) return undefined;
      if (attempt >= HOME_LEASE_ATTEMPTS) throw error;
    }
  }
}

/** One append of a cut event on a home lease; undefined when the own-copy guard (bug switch) refuses. */
async function appendOnLease(
  deps: CoreDrainDeps,
  event: EventEnvelope,
  lease: HomeLease,
): Promise<boolean | undefined> {
  try {
    const timeoutMs = lease.reconfirm?.();
    const options = { tier: 'core' as const, received: true, guards: lease.guards };
    const appended = await deps.events.appendEvents(
      [event],
      timeoutMs === undefined ? options : { ...options, timeoutMs },
    );
    return appended.appended > 0;
  } catch (error) {
    if (error instanceof ConcurrencyError) throw fencingViolation(event, error.actual, error);
    if (error instanceof CutRefusedError) return undefined;
    throw error;
  }
}

/** Fresh home leases an applier reads for one cut event before it leaves the delivery to be retried. */
const HOME_LEASE_ATTEMPTS = 3;

/** The old home check (switch `applier-home-check-local-copy`): this region's own copy names it home, active. */
function ownCopyGuard(controlTable: string, self: string, event: EventEnvelope): AppendGuard {
  return {
    item: {
      ConditionCheck: {
        TableName: controlTable,
        Key: { pk: partitionKey(event.partition), sk: REGISTER_SORT_KEY },
        ConditionExpression: '#v.#home = :self AND #v.#state = :active',
        ExpressionAttributeNames: { '#v': 'value', '#home': 'home', '#state': 'state' },
        ExpressionAttributeValues: { ':self': self, ':active': 'active' },
      },
    },
    onFailure: () => new CutRefusedError(event),
  };
}

/** The event the log holds at `event`'s seq, if any. */
export async function storedAt(
  deps: Pick<CoreDrainDeps, 'events'>,
  event: EventEnvelope,
): Promise<EventEnvelope | undefined> {
  const afterSortKey = eventSortKey('core', { seq: event.seq - 1, hlc: '' });
  const pages = deps.events.pages(event.aggregateType, event.aggregateId, { afterSortKey, pageSize: 1 });
  for await (const page of pages) return page[0]?.seq === event.seq ? page[0] : undefined;
  return undefined;
}

/** Parks an event; one of another branch already parked at its seq makes this one a branch conflict. */
export async function park(deps: CoreDrainDeps, event: EventEnvelope): Promise<void> {
  const held = await deps.parking.park(event, deps.now());
  if (held === undefined) return;
  throw new PoisonEventError(
    POISON_REASONS.branchConflict,
    `${event.aggregateType} ${event.aggregateId} seq ${event.seq}: event ${held} of another branch is parked there`,
    { seq: event.seq, parked: held, epoch: event.epoch },
  );
}

/**
 * Drains parked successors and closes timed-out gaps from the origin; returns the caught-up row. Stops when
 * the first parked event does not extend the row (another branch: it waits for Repair or Failback).
 */
export async function settle(
  deps: CoreDrainDeps,
  input: { aggregate: AnyAggregate; aggregateId: string; record: StateRecord; parkedNow: boolean },
): Promise<{ record: StateRecord; appended: EventEnvelope[] }> {
  const { aggregate, aggregateId } = input;
  const appended: EventEnvelope[] = [];
  let record = input.record;
  // A park by a concurrent applier is seen either by this query or by its own re-check after parking.
  if (input.parkedNow) record = await catchUpCoreRow(deps, aggregate, aggregateId);
  for (;;) {
    const all = await deps.parking.parked(aggregate.name, aggregateId, 0);
    // A parked event the row has already passed reached the log another way (a concurrent applier, a
    // gap fetch, a repair replay): drop the entry, or quarantine it if the log holds another event there.
    for (const event of all.filter((e) => e.seq <= record.seq)) await dropPassed(deps, event);
    const parked = all.filter((e) => e.seq > record.seq);
    if (parked.length === 0) return { record, appended };
    const next = parked[0]!;
    const moved =
      next.seq === record.seq + 1
        ? await drainRun(deps, record, parked)
        : await fetchIfTimedOut(deps, { aggregate, record, firstParked: next, sources: gapSources(parked) });
    if (moved.length === 0) return { record, appended };
    appended.push(...moved);
    record = await catchUpCoreRow(deps, aggregate, aggregateId);
  }
}

/** Settles an aggregate's parked events without a new arrival (the sweeper's call). */
export async function settleParked(
  deps: CoreDrainDeps,
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<{ record: StateRecord; appended: EventEnvelope[] }> {
  const stored =
    (await deps.states.getState(aggregate.name, aggregateId)) ?? emptyRecord(aggregate, aggregateId);
  const record = await catchUpCoreRow(deps, aggregate, aggregateId, stored);
  return settle(deps, { aggregate, aggregateId, record, parkedNow: false });
}

/**
 * Removes a parked event whose slot the log already fills: an applier parked it while a concurrent one (a
 * duplicate delivery) appended it. Quarantined when the log holds another event there; kept when the slot
 * is empty (never dropped unseen: the stranded check reports it).
 */
async function dropPassed(deps: CoreDrainDeps, event: EventEnvelope): Promise<void> {
  const existing = await storedAt(deps, event);
  if (!existing) return;
  if (existing.eventId !== event.eventId)
    await deps.quarantineParked(event, fencingViolation(event, existing.eventId));
  await deps.parking.unpark(event);
}

/** Appends the parked events that extend `from` one after another and unparks them. */
async function drainRun(
  deps: CoreDrainDeps,
  from: CoreHead,
  parked: readonly EventEnvelope[],
): Promise<EventEnvelope[]> {
  const appended: EventEnvelope[] = [];
  let head = from;
  for (const event of parked) {
    if (!extendsHead(head, event)) break;
    try {
      if (await appendAtSeq(deps, event)) appended.push(event);
    } catch (error) {
      if (!(error instanceof PoisonEventError)) throw error;
      // The slot holds another branch's event: this one is quarantined and the run ends here.
      await deps.quarantineParked(event, error);
      await deps.parking.unpark(event);
      break;
    }
    await deps.parking.unpark(event);
    head = headOf(event);
  }
  if (appended.length > 0) await deps.parking.clearGap(parked[0]!.aggregateType, parked[0]!.aggregateId);
  return appended;
}

/**
 * The logs a gap may be read from: the parked events' origins, the one of the highest epoch first (the
 * latest home among them; at equal epochs the first parked event's origin first, as before), each read up
 * to just below its own first parked event. After a Failover the first parked event can be the lost
 * home's (parked before the loss) and a later one the new home's: the gap read from the lost home's own log
 * is refused by the cut (quarantined, though the new home's log holds it) or not answered, while the new
 * home's log holds it, and the lost home's parked events' slots too (then dropped as passed), as its
 * history (review-finding-2). Every source is one the parked events already name; what is read is checked
 * as before (chain, range, the cut when read from its origin's own log). Bug switch
 * `gap-fetch-first-origin-only`: the first parked event's origin alone.
 */
function gapSources(parked: readonly EventEnvelope[]): GapSource[] {
  const first = parked[0]!;
  if (bugEnabled('gap-fetch-first-origin-only'))
    return [{ origin: first.origin, toSeq: first.seq - 1, voucher: first }];
  const sources = new Map<string, GapSource & { epoch: number }>();
  for (const e of parked) {
    const known = sources.get(e.origin);
    if (known) known.epoch = Math.max(known.epoch, e.epoch);
    else sources.set(e.origin, { origin: e.origin, toSeq: e.seq - 1, voucher: e, epoch: e.epoch });
  }
  return [...sources.values()].sort((a, b) => b.epoch - a.epoch || a.toSeq - b.toSeq);
}

/** A log a gap is read from, the last seq read from it, and its first parked event (just above). */
interface GapSource {
  readonly origin: string;
  readonly toSeq: number;
  readonly voucher: EventEnvelope;
}

/**
 * The epoch the cut is checked at for a gap read from its origin's own log: the parked event's just above
 * it (`voucher`) when the run read is exactly that event's history (every seq of the range, each naming
 * the one before as `prev`, the first extending the row, the last the voucher's `prev`), else none (each
 * event at its own epoch). An origin home again past a Failover's cut (a Failback) writes at a higher epoch
 * on top of its log as the Failback left it: the home's history, its pre-cut events included, which the
 * cut would refuse at their own epoch (review-finding-2). The voucher passes the cut only if the home that
 * wrote it was not cut since, and then neither is its history. Bug switch `gap-fetch-ignores-voucher`.
 */
function vouchedEpoch(
  record: CoreHead,
  run: readonly EventEnvelope[],
  range: { fromSeq: number; toSeq: number },
  voucher: EventEnvelope,
): number | undefined {
  if (bugEnabled('gap-fetch-ignores-voucher')) return undefined;
  if (run.length !== range.toSeq - range.fromSeq + 1 || voucher.seq !== range.toSeq + 1) return undefined;
  if (run.some((e, i) => e.seq !== range.fromSeq + i || isArchivedStub(e))) return undefined;
  if (!extendsHead(record, run[0]!) || run.at(-1)!.hlc !== voucher.prev) return undefined;
  if (run.some((e, i) => i > 0 && e.prev !== run[i - 1]!.hlc)) return undefined;
  return voucher.epoch;
}

/**
 * Once the gap before `firstParked` is older than `gapTimeoutMs`, reads the missing range from the first of
 * `sources` that fills part of it (see gapSources) and appends what extends the row, each fetched event
 * validated like a delivered one (poison is quarantined) and checked against the range it was asked for.
 * Every source failing to answer: GapFetchError (the first one's).
 */
async function fetchIfTimedOut(
  deps: CoreDrainDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; firstParked: EventEnvelope; sources: GapSource[] },
): Promise<EventEnvelope[]> {
  const { aggregate, firstParked } = input;
  const now = deps.now();
  const since = await deps.parking.gapSince(aggregate.name, firstParked.aggregateId);
  if (since === undefined) await deps.parking.markGap(aggregate.name, firstParked.aggregateId, now);
  if (!deps.originReader || since === undefined || now.getTime() - since < deps.gapTimeoutMs) return [];
  let failure: GapFetchError | undefined;
  for (const source of input.sources) {
    try {
      const appended = await fetchGapFrom(deps, { ...input, source });
      if (appended.length > 0) return appended;
    } catch (error) {
      if (!(error instanceof GapFetchError)) throw error;
      failure ??= error;
    }
  }
  if (failure) throw failure;
  return [];
}

/** One source's try of fetchIfTimedOut: what it appended (the gap's clock restarted if anything). */
async function fetchGapFrom(
  deps: CoreDrainDeps,
  input: { aggregate: AnyAggregate; record: StateRecord; firstParked: EventEnvelope; source: GapSource },
): Promise<EventEnvelope[]> {
  const { aggregate, record, firstParked } = input;
  const source = input.source.origin;
  const range = { fromSeq: record.seq + 1, toSeq: input.source.toSeq };
  let fetched: EventEnvelope[];
  try {
    fetched = await deps.originReader!.loadRange(source, {
      aggregateType: aggregate.name,
      aggregateId: firstParked.aggregateId,
      ...range,
    });
  } catch (error) {
    throw new GapFetchError(source, firstParked.aggregateId, [range.fromSeq, range.toSeq], {
      cause: error,
    });
  }
  const appended: EventEnvelope[] = [];
  let head: CoreHead = record;
  const sorted = [...fetched].sort((a, b) => a.seq - b.seq);
  const cutEpoch = vouchedEpoch(record, sorted, range, input.source.voucher);
  for (const raw of sorted) {
    // An origin's archived stub is an acknowledged event whose payload is in its archive, not poison: the
    // fetch stops there and the gap stays for Repair (bug switch `gap-fetch-reads-stubs`: validated, and
    // quarantined as an invalid envelope).
    if (isArchivedStub(raw) && !bugEnabled('gap-fetch-reads-stubs')) break;
    let event: EventEnvelope;
    try {
      event = checkFetched(deps, raw, {
        ...range,
        aggregateType: aggregate.name,
        id: firstParked.aggregateId,
      });
    } catch (error) {
      if (!(error instanceof PoisonEventError)) throw error;
      await deps.quarantineParked(raw, error);
      break;
    }
    if (!extendsHead(head, event)) break;
    const placed = await appendFetched(deps, event, source, cutEpoch);
    if (placed === 'refused') break;
    if (placed === 'appended') appended.push(event);
    head = headOf(event);
  }
  // The next gap (if any remains) starts its own clock.
  if (appended.length > 0) await deps.parking.clearGap(aggregate.name, firstParked.aggregateId);
  return appended;
}

/**
 * Appends a fetched event read from `source`'s log. A copy read from another region's log than its
 * origin's (the home's: a Failover collected it there) is that region's history, not a late delivery: only
 * one read from its origin's own log is checked against the Failover cut (refused: quarantined).
 */
async function appendFetched(
  deps: CoreDrainDeps,
  event: EventEnvelope,
  source: string,
  cutEpoch: number | undefined,
): Promise<'appended' | 'duplicate' | 'refused'> {
  try {
    const cut = event.origin === source;
    const options =
      cut && cutEpoch !== undefined ? { cut, cutEpoch: Math.max(cutEpoch, event.epoch) } : { cut };
    return (await appendAtSeq(deps, event, options)) ? 'appended' : 'duplicate';
  } catch (error) {
    if (!(error instanceof PoisonEventError) || error.reason !== POISON_REASONS.supersededByFailover)
      throw error;
    await deps.quarantineParked(event, error);
    return 'refused';
  }
}

/** The fetched event validated like a delivered one and checked against the range asked for. */
function checkFetched(
  deps: CoreDrainDeps,
  raw: unknown,
  asked: { aggregateType: string; id: string; fromSeq: number; toSeq: number },
): EventEnvelope {
  const event = deps.validateFetched(raw);
  const inRange =
    event.aggregateType === asked.aggregateType &&
    event.aggregateId === asked.id &&
    event.seq >= asked.fromSeq &&
    event.seq <= asked.toSeq;
  if (inRange) return event;
  throw new PoisonEventError(
    POISON_REASONS.invalidEnvelope,
    `fetched ${event.aggregateType} ${event.aggregateId} seq ${event.seq} for ${asked.aggregateType} ${asked.id} seq ${asked.fromSeq}..${asked.toSeq}`,
    { seq: event.seq, origin: event.origin },
  );
}
