import { type CoreHead, chainedRun, extendsHead, headOf } from '../commands/chain.ts';
import { catchUpCoreRow } from '../commands/execute.ts';
import { retireCoreBranch } from '../commands/retire-branch.ts';
import { CONFLICT_STATUS } from '../conflict/records.ts';
import { bugEnabled } from '../faults/index.ts';
import { ForkBelowArchiveError } from '../lifecycle/errors.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ParkingStore } from '../replication/parking.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
import type { RegionCell } from './ports.ts';

const EMPTY: CoreHead = { seq: 0, head: null };

/** Higher epoch first (a later home), then higher HLC: a total order, the same in every region. */
function stronger(a: EventEnvelope, b: EventEnvelope): EventEnvelope {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b;
  return a.hlc >= b.hlc ? a : b;
}

/**
 * The winning branch of one core aggregate, from every region's log. This is where "which branch wins" is
 * decided: **the current home's**. Its log's chained run is taken whole (a home never loses an event it
 * acknowledged); then, while some region holds an event that extends the branch's head (an orphan of an
 * old home at a seq the home never used, a quorum-ack copy), the branch grows by it, the highest epoch
 * first. Without a known home (no map entry, home not among `logs`), the branch starts from the log whose
 * chained head is strongest (highest epoch, then HLC): the latest home's. Pure: a function of the logs.
 * `base`: where the logs start (after an archived prefix, see `archiveFloor`), else before seq 1.
 */
export function winningBranch(
  logs: ReadonlyMap<string, readonly EventEnvelope[]>,
  home?: string,
  base: CoreHead = EMPTY,
): EventEnvelope[] {
  const runs = [...logs].map(([region, log]) => ({ region, run: chainedRun(base, log) }));
  const start =
    runs.find((r) => r.region === home) ??
    runs.reduce<(typeof runs)[number] | undefined>((best, r) => {
      const tip = r.run.at(-1);
      if (!tip) return best;
      const bestTip = best?.run.at(-1);
      return !bestTip || stronger(tip, bestTip) === tip ? r : best;
    }, undefined);
  const branch = [...(start?.run ?? [])];
  const all = [...logs.values()].flat();
  for (;;) {
    const tip = branch.at(-1);
    const head = tip ? headOf(tip) : base;
    const next = all
      .filter((e) => extendsHead(head, e))
      .reduce<EventEnvelope | undefined>((best, e) => (best ? stronger(best, e) : e), undefined);
    if (!next) return branch;
    branch.push(next);
  }
}

/**
 * Where the logs of a forked aggregate are settled from when some region archived its oldest events (its
 * hot log starts above seq 1, at the last event of a snapshot: lib/lifecycle): the highest such start,
 * which every log must hold as the same event (each event names its predecessor, so they then agree on
 * everything below). Undefined when every log starts at seq 1; ForkBelowArchiveError when they disagree.
 */
export function archiveFloor(
  aggregate: AnyAggregate,
  aggregateId: string,
  logs: ReadonlyMap<string, readonly EventEnvelope[]>,
): { readonly base: CoreHead } | undefined {
  const starts = [...logs.values()].map((log) => log[0]).filter((e) => e !== undefined && e.seq > 1);
  if (starts.length === 0) return undefined;
  const at = starts.reduce((a, b) => (b!.seq > a!.seq ? b : a))!;
  for (const log of logs.values()) {
    if (log.find((e) => e.seq === at.seq)?.eventId !== at.eventId)
      throw new ForkBelowArchiveError(aggregate.name, aggregateId, at.seq);
  }
  return { base: { seq: at.seq - 1, head: at.prev } };
}

/** What settling one aggregate did. */
export interface SettledAggregate {
  /** The home's branch every region now holds. */
  readonly winning: readonly EventEnvelope[];
  /** Events of the winning branch the home lacked and took (orphans at seqs it never used). */
  readonly adopted: readonly EventEnvelope[];
  /** Every event taken out of some log into the manual conflict queue, with what it lost to. */
  readonly queued: ReadonlyArray<{ eventId: string; seq: number; kept: string }>;
  /** Events delivered per region. */
  readonly replayed: Readonly<Record<string, number>>;
}

/**
 * Puts events of the winning branch into a region's log, in seq order, then folds its row. Straight into
 * the table, not through the bus: the runbook must see them there before it decides anything else (in AWS
 * a bus delivery lands later). They come from another region's log, where they were validated on entry;
 * each append holds only while its slot is free (an event of another branch there throws: run again), and
 * the row folds only what extends it (`catchUpCoreRow`). Parked successors drain by the sweeper.
 */
async function deliver(
  cell: RegionCell,
  aggregate: AnyAggregate,
  events: readonly EventEnvelope[],
  whole: ReadonlyMap<string, EventEnvelope> = new Map(),
) {
  if (events.length === 0) return;
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    // A stub's payload is in its region's archive: another log's whole copy is delivered, never the stub.
    const copy = isArchivedStub(event) ? whole.get(event.eventId) : event;
    if (!copy) throw new ForkBelowArchiveError(aggregate.name, event.aggregateId, event.seq);
    await cell.events.appendEvents([copy], { tier: 'core', received: true });
  }
  await catchUpCoreRow(cell, aggregate, events[0]!.aggregateId);
}

/**
 * Before anything is retired: every region lacking an event of the winning branch can be given it whole. An
 * event only some region's archive holds (a stub in every log that has it) cannot be delivered: the fork
 * lies below the archive point, ForkBelowArchiveError (settle it by hand from `fullHistory`).
 */
function assertDeliverable(input: {
  readonly aggregate: AnyAggregate;
  readonly logs: ReadonlyMap<string, readonly EventEnvelope[]>;
  readonly winning: readonly EventEnvelope[];
  readonly whole: ReadonlyMap<string, EventEnvelope>;
}) {
  for (const log of input.logs.values()) {
    const held = new Set(log.map((e) => e.eventId));
    const stuck = input.winning.find((e) => !held.has(e.eventId) && !input.whole.has(e.eventId));
    if (stuck) throw new ForkBelowArchiveError(input.aggregate.name, stuck.aggregateId, stuck.seq);
  }
}

/** Each event's whole copy (not an archived stub) from any log: what a region lacking it is given. */
function wholeCopies(logs: ReadonlyMap<string, readonly EventEnvelope[]>): Map<string, EventEnvelope> {
  const whole = new Map<string, EventEnvelope>();
  for (const log of logs.values()) for (const e of log) if (!isArchivedStub(e)) whole.set(e.eventId, e);
  return whole;
}

/**
 * Parked copies of events the settlement placed are unparked: a retired one is in the queue and could never
 * drain; one of the winning branch is in the log now. Anything else parked waits for the sweeper.
 */
async function unparkSettled(cell: RegionCell, aggregate: AnyAggregate, id: string, settled: Set<string>) {
  const parking = new ParkingStore({ client: cell.tables.client, tableName: cell.tables.replication });
  for (const event of await parking.parked(aggregate.name, id, 0))
    if (settled.has(event.eventId)) await parking.unpark(event);
}

/**
 * Withdraws the open core-branch records of events on the winning branch that the home's log holds (read
 * again now): the event won, it is no acknowledged write lost. Such a record is left by a retire that failed
 * after queueing (a crash: its own best-effort withdrawal never ran) before the home moved to the event's
 * branch. A resolved record stays (an operator's decision). Switch `failed-retire-keeps-records`: kept.
 */
async function withdrawWon(
  home: RegionCell,
  queues: readonly RegionCell['conflicts'][],
  settled: {
    readonly aggregate: AnyAggregate;
    readonly aggregateId: string;
    readonly onBranch: ReadonlySet<string>;
  },
) {
  const { aggregate, aggregateId, onBranch } = settled;
  if (bugEnabled('failed-retire-keeps-records')) return;
  const logged = new Set((await home.events.loadStream(aggregate.name, aggregateId)).map((e) => e.eventId));
  for (const queue of queues) {
    if (!queue.withdrawOpen) continue;
    for (const record of await queue.listForAggregate(aggregate.name, aggregateId)) {
      const branch = record as typeof record & {
        kind?: string;
        versions?: { orphan?: { eventId?: string } };
      };
      const orphan = branch.versions?.orphan?.eventId;
      if (branch.kind !== 'core-branch' || record.policy || record.status !== CONFLICT_STATUS.open) continue;
      if (orphan && onBranch.has(orphan) && logged.has(orphan)) await queue.withdrawOpen(record);
    }
  }
}

/**
 * Brings every given region onto the home's branch of one core aggregate (`winningBranch`): the home first
 * takes the winning events it lacks; then, in every region, events off that branch are retired into the
 * manual conflict queue of every region (`retireCoreBranch`: queued with their full envelopes before they
 * leave the log) and the branch's missing events are delivered. Idempotent.
 */
export async function settleCoreAggregate(input: {
  readonly aggregate: AnyAggregate;
  readonly aggregateId: string;
  readonly cells: readonly RegionCell[];
  /** The partition's current home (from the quorum map), if known. */
  readonly home: string | undefined;
  /**
   * The epoch of the map entry `home` was read from: each retire checks that the region's copy of the entry
   * still names that home at that epoch (a Failover since: HomeMovedError, run the settlement again).
   */
  readonly epoch?: number;
}): Promise<SettledAggregate> {
  const { aggregate, aggregateId, cells } = input;
  const loaded = new Map(
    await Promise.all(
      cells.map(async (c) => [c.region, await c.events.loadStream(aggregate.name, aggregateId)] as const),
    ),
  );
  // A log whose oldest events left it altogether (archived before stubs) is settled from where it starts;
  // archived stubs keep their slots and chain, so a log holding them is settled whole.
  const floor = archiveFloor(aggregate, aggregateId, loaded);
  const above = (log: readonly EventEnvelope[]) => (floor ? log.filter((e) => e.seq > floor.base.seq) : log);
  const load = async (c: RegionCell) => above(await c.events.loadStream(aggregate.name, aggregateId));
  const logs = new Map([...loaded].map(([region, log]) => [region, above(log)] as const));
  const whole = wholeCopies(loaded);
  const homeCell = cells.find((c) => c.region === input.home);
  let adopted: EventEnvelope[] = [];
  if (homeCell) {
    const held = new Set(logs.get(homeCell.region)!.map((e) => e.eventId));
    adopted = winningBranch(logs, homeCell.region, floor?.base).filter((e) => !held.has(e.eventId));
    await deliver(homeCell, aggregate, adopted, whole);
    // The home may have written meanwhile: what it holds now is the branch's authoritative start.
    logs.set(homeCell.region, await load(homeCell));
    const now = new Set(logs.get(homeCell.region)!.map((e) => e.eventId));
    adopted = adopted.filter((e) => now.has(e.eventId));
  }
  const winning = winningBranch(logs, input.home, floor?.base);
  const owner =
    input.home !== undefined && input.epoch !== undefined
      ? { home: input.home, epoch: input.epoch }
      : undefined;
  const onBranch = new Set(winning.map((e) => e.eventId));
  assertDeliverable({ aggregate, logs, winning, whole });
  const queues = cells.map((c) => c.conflicts);
  const queued = new Map<string, { eventId: string; seq: number; kept: string }>();
  const replayed: Record<string, number> = {};
  const retiredIds = new Set<string>();
  for (const cell of cells) {
    const losing = logs.get(cell.region)!.filter((e) => !onBranch.has(e.eventId));
    for (const e of losing) retiredIds.add(e.eventId);
    // Bug switch: orphans past the home's head (seqs it never used) leave the log without a record.
    const tip = winning.at(-1)?.seq ?? 0;
    const unqueued = bugEnabled('orphan-delete-after-fork') ? losing.filter((e) => e.seq > tip) : [];
    const retire = async (events: EventEnvelope[], withQueues: boolean) =>
      retireCoreBranch({
        cell,
        queues: withQueues ? queues : [],
        aggregate,
        losing: events,
        winning,
        reason: 'fork',
        ...(owner ? { owner } : {}),
      });
    // The unqueued ones first: they are the newest, and a retire takes whatever lies above its branch along.
    await retire(unqueued, false);
    const kept = await retire(
      losing.filter((e) => !unqueued.includes(e)),
      true,
    );
    for (const q of kept.queued) queued.set(q.eventId, q);
  }
  for (const cell of cells) {
    const held = new Set(
      logs
        .get(cell.region)!
        .filter((e) => onBranch.has(e.eventId))
        .map((e) => e.eventId),
    );
    const lacking = winning.filter((e) => !held.has(e.eventId));
    await deliver(cell, aggregate, lacking, whole);
    await unparkSettled(cell, aggregate, aggregateId, new Set([...retiredIds, ...onBranch]));
    if (lacking.length > 0) replayed[cell.region] = lacking.length;
  }
  if (homeCell) await withdrawWon(homeCell, queues, { aggregate, aggregateId, onBranch });
  return { winning, adopted, queued: [...queued.values()], replayed };
}
