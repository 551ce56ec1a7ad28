import { isEpochNoOp } from '../commands/epoch-no-op.ts';
import type { Anomaly } from './anomaly.ts';
import type { Operation } from './history.ts';
import type { RegionSnapshot, StoredEvent } from './snapshot.ts';

/** How a core write may end when its home is lost: `local` ack lets a fork's losing side reach the manual queue. */
export type AckMode = 'local' | 'quorum';

/**
 * A region a Failover took over: under `ack: local` its writes acknowledged before `until` (the end of
 * the Failover plus the lease hold, after which the old home can acknowledge nothing) may be lost with it.
 */
export interface RegionLoss {
  readonly region: string;
  /** In the history's clock (performance.now of the recorder). */
  readonly until: number;
}

/** Where the client operations on one aggregate took effect, per the final stores. */
export interface Effects {
  readonly anomalies: Anomaly[];
  /** op key (see opKeyOf) -> its event, for every op whose event is in some region's final log (it took effect). */
  readonly happened: ReadonlyMap<string, StoredEvent>;
  /** op key -> its event, for ops whose event is only in the manual queue (the losing side of a core fork). */
  readonly queued: ReadonlyMap<string, StoredEvent>;
  /** Ok'd ops whose write ended in the manual queue under `ack: local` (a documented loss, not an anomaly). */
  readonly orphaned: readonly Operation[];
}

/** What mapEffects needs: one aggregate's operations and every region's snapshot. */
export interface EffectsInput {
  /** `<aggregateType>/<aggregateId>`. */
  readonly key: string;
  readonly ops: readonly Operation[];
  readonly regions: readonly RegionSnapshot[];
  /** The checker the anomalies are reported under (`core`, `important`). */
  readonly checker: string;
  /** Without it, an acknowledged write kept in every region's manual queue counts as queued (see lostWithRegion). */
  readonly ackMode?: AckMode;
  /** Under `ack: local`, the regions Failovers took over (see RegionLoss); without them no orphan is excused. */
  readonly regionLosses?: readonly RegionLoss[];
  /** Events one command of the workload writes (the chaos commands write one). */
  readonly eventsPerCommand?: number;
}

const splitKey = (key: string) => [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];

/** One region's log of the aggregate, in seq (core) or HLC order. */
export function logOf(region: RegionSnapshot, key: string): StoredEvent[] {
  const [type, id] = splitKey(key);
  return region.events
    .filter((e) => e.aggregateType === type && e.aggregateId === id)
    .sort((a, b) => a.seq - b.seq || (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : 0));
}

/** Events of the aggregate kept by manual-queue records of one region (core orphans keep both versions). */
function queuedIn(region: RegionSnapshot, key: string): StoredEvent[] {
  const [type, id] = splitKey(key);
  return clientEvents(
    (region.conflicts ?? [])
      .filter((c) => c.aggregateType === type && c.aggregateId === id)
      .flatMap((c) => c.events),
  );
}

/**
 * The events that are some client operation's effect: not a home's epoch no-op, the platform's own entry
 * (it changes no state) that a home appends before answering on a head of an earlier epoch, carrying the
 * cause of the command it answered (a refusal, a no-op, or one whose answer was lost).
 */
function clientEvents(events: StoredEvent[]): StoredEvent[] {
  return events.filter((e) => !isEpochNoOp(e));
}

/**
 * Maps every event of every region's log of one aggregate to exactly one client operation by the op id
 * the command carried (stored as the event's causationId), instead of by kind and amount:
 * - an event no op carries, or carried by a refused (4xx) op, is a `phantom-write`;
 * - more events for one op than its command writes, in one log or across regions (a command run twice,
 *   e.g. a forwarded write delivered twice, or on both sides of a fork), is a `duplicate-write`;
 * - an ok'd op must have exactly its acknowledged events in every region's log: a missing one is a
 *   `lost-write`, unless under `ack: local` its region was taken over by a Failover after the ack and the
 *   event sits in the manual queue of every region (the losing side of a fork after a region loss:
 *   counted in `orphaned`); queued under `ack: quorum`, or after a planned move, it is still lost.
 * An info op took effect exactly when its event is in some final log (`happened`).
 */
export function mapEffects(input: EffectsInput): Effects {
  const { key, ops, regions, checker } = input;
  const perCommand = input.eventsPerCommand ?? 1;
  const anomalies: Anomaly[] = [];
  const report: Report = (kind, message, region) =>
    anomalies.push({ checker, kind, key, ...(region ? { region } : {}), message });
  const index = new OpIndex(ops);
  const happened = new Map<string, StoredEvent>();
  const seenIds = new Map<string, Set<string>>();
  const logs = regions.map((region) => ({ region, log: clientEvents(logOf(region, key)) }));
  for (const { region, log } of logs)
    for (const [opKey, events] of mapLog(region.region, log, index, report)) {
      for (const event of events) {
        if (!happened.has(opKey)) happened.set(opKey, event);
        seenIds.set(opKey, (seenIds.get(opKey) ?? new Set()).add(event.eventId));
      }
      if (events.length > expectedCount(index.get(opKey)!, perCommand))
        report(
          'duplicate-write',
          `op ${opKey} took effect ${events.length} times in one log (${events.map((e) => `seq ${e.seq} ${e.eventId}`).join(', ')})`,
          region.region,
        );
    }
  for (const [opKey, ids] of seenIds) checkOneEffect(index.get(opKey)!, ids, perCommand, report);
  const queued = queuedEffects(input, index, happened, report);
  const orphaned = checkAcknowledged(input, logs, queued, report);
  return { anomalies, happened, queued, orphaned };
}

type Report = (kind: string, message: string, region?: string) => void;

/** How an operation is named in the maps: its op id, or `#<index>` for a history recorded without op ids. */
export const opKeyOf = (op: Operation): string => op.opId ?? `#${op.id}`;

/**
 * For histories recorded without op ids (scenario tests that drive commands directly): what an event
 * type says about the command that wrote it, to match it to an indeterminate op of the same kind and input.
 */
const LEGACY_EFFECTS: Readonly<Record<string, { f: string; field?: string }>> = {
  AccountOpened: { f: 'open' },
  Deposited: { f: 'deposit', field: 'amount' },
  Withdrawn: { f: 'withdraw', field: 'amount' },
  DisplayNameSet: { f: 'write', field: 'displayName' },
};

/**
 * The operation an event is the effect of: the op whose op id the event carries (its causationId). A
 * history recorded without op ids falls back to the ok'd op that acknowledged the event, then to a
 * distinct info op of the same kind and input (each claimed once); an op with an op id is only ever
 * matched by it.
 */
class OpIndex {
  private readonly byKey = new Map<string, Operation>();
  private readonly claimed = new Map<string, Operation>();
  private readonly free: Operation[];

  constructor(readonly ops: readonly Operation[]) {
    for (const op of ops) this.byKey.set(opKeyOf(op), op);
    this.free = ops.filter((op) => !op.opId && op.outcome === 'info');
  }

  get(key: string): Operation | undefined {
    return this.byKey.get(key);
  }

  find(event: StoredEvent): Operation | undefined {
    const carried = event.causationId ? this.byKey.get(event.causationId) : undefined;
    if (carried?.opId) return carried;
    const known = this.claimed.get(event.eventId);
    if (known) return known;
    const op =
      this.ops.find((o) => !o.opId && o.outcome === 'ok' && o.eventIds.includes(event.eventId)) ??
      this.claim(event);
    if (op) this.claimed.set(event.eventId, op);
    return op;
  }

  private claim(event: StoredEvent): Operation | undefined {
    const effect = LEGACY_EFFECTS[event.type];
    if (!effect) return undefined;
    const input = effect.field === undefined ? null : event.payload[effect.field];
    const at = this.free.findIndex(
      (op) => op.f === effect.f && (effect.field === undefined || op.input === input),
    );
    return at < 0 ? undefined : this.free.splice(at, 1)[0];
  }
}

/** One region's log: the events of each op (see OpIndex); an event of no op, or of a refused one, is a phantom. */
function mapLog(
  region: string,
  log: readonly StoredEvent[],
  index: OpIndex,
  report: Report,
): Map<string, StoredEvent[]> {
  const perOp = new Map<string, StoredEvent[]>();
  for (const event of log) {
    const op = index.find(event);
    if (!op || op.outcome === 'fail') report('phantom-write', describePhantom(event, op), region);
    else perOp.set(opKeyOf(op), [...(perOp.get(opKeyOf(op)) ?? []), event]);
  }
  return perOp;
}

/** Across regions an op is the same events everywhere: its acknowledged ones, or (info) one command's worth. */
function checkOneEffect(op: Operation, ids: ReadonlySet<string>, perCommand: number, report: Report): void {
  const extra = op.outcome === 'ok' ? [...ids].filter((id) => !op.eventIds.includes(id)) : [];
  if (extra.length === 0 && ids.size <= expectedCount(op, perCommand)) return;
  report(
    'duplicate-write',
    `op ${opKeyOf(op)} (${op.f} ${op.input}, ${op.outcome}) is ${ids.size} different events across regions: ${[...ids].join(', ')}${extra.length > 0 ? ` (acknowledged: ${op.eventIds.join(', ')})` : ''}`,
  );
}

const expectedCount = (op: Operation, perCommand: number) =>
  op.outcome === 'ok' ? Math.max(op.eventIds.length, 1) : perCommand;

function describePhantom(event: StoredEvent, op: Operation | undefined): string {
  const what = `${event.type} ${JSON.stringify(event.payload)} (seq ${event.seq}, event ${event.eventId}, origin ${event.origin})`;
  if (op) return `${what} is the effect of op ${opKeyOf(op)}, which was refused (${op.error})`;
  if (!event.causationId) return `${what} carries no op id`;
  return `${what} carries op id ${event.causationId}, which no client operation on this key sent`;
}

/** Events of the manual queue that are in no final log, by op key; a queued event no op carries is a phantom. */
function queuedEffects(
  input: EffectsInput,
  index: OpIndex,
  happened: ReadonlyMap<string, StoredEvent>,
  report: Report,
): Map<string, StoredEvent> {
  const inLogs = new Set([...happened.values()].map((e) => e.eventId));
  const queued = new Map<string, StoredEvent>();
  for (const region of input.regions)
    for (const event of queuedIn(region, input.key)) {
      if (inLogs.has(event.eventId)) continue;
      const op = index.find(event);
      if (!op || op.outcome === 'fail')
        report('phantom-write', `in the manual queue: ${describePhantom(event, op)}`, region.region);
      else queued.set(opKeyOf(op), event);
    }
  return queued;
}

/** Under `ack: local` an acknowledged orphan must be kept in every region's manual queue. */
function checkQueuedEverywhere(
  input: EffectsInput,
  op: Operation,
  orphan: StoredEvent,
  report: Report,
): void {
  for (const region of input.regions)
    if (!queuedIn(region, input.key).some((e) => e.eventId === orphan.eventId))
      report(
        'orphan-not-queued',
        `ok'd ${op.f} ${op.input} (op ${opKeyOf(op)}, event ${orphan.eventId}) lost its fork, but this region has no manual-queue record of it`,
        region.region,
      );
}

/**
 * Whether an acknowledged write may have lost a fork: under `ack: local`, one of a region a Failover took
 * over after the ack; never under `ack: quorum`. A caller that names no ack mode (a scenario test) gives
 * no context to judge by: a write kept in every region's manual queue then counts as queued, not lost.
 */
function lostWithRegion(input: EffectsInput, op: Operation, orphan: StoredEvent): boolean {
  if (input.ackMode === undefined) return true;
  if (input.ackMode !== 'local') return false;
  return (input.regionLosses ?? []).some((l) => l.region === orphan.origin && op.completedAt <= l.until);
}

/**
 * Every ok'd op's events are in every region's log; under `ack: local` one lost with its region (see
 * lostWithRegion) must instead be queued in every region.
 */
function checkAcknowledged(
  input: EffectsInput,
  logs: ReadonlyArray<{ region: RegionSnapshot; log: readonly StoredEvent[] }>,
  queued: ReadonlyMap<string, StoredEvent>,
  report: Report,
): Operation[] {
  const orphaned: Operation[] = [];
  for (const op of input.ops.filter((o) => o.outcome === 'ok' && o.eventIds.length > 0)) {
    const orphan = queued.get(opKeyOf(op));
    if (orphan && lostWithRegion(input, op, orphan)) {
      checkQueuedEverywhere(input, op, orphan, report);
      orphaned.push(op);
      continue;
    }
    const note = orphan
      ? ` (queued as a core orphan: ${input.ackMode === 'local' ? `no Failover took over ${orphan.origin} after it was acknowledged` : 'it was acknowledged by a quorum'})`
      : '';
    for (const { region, log } of logs) {
      const ids = new Set(log.map((e) => e.eventId));
      for (const id of op.eventIds.filter((e) => !ids.has(e)))
        report(
          'lost-write',
          `ok'd ${op.f} ${op.input} (op ${opKeyOf(op)}, event ${id}) is missing${note}`,
          region.region,
        );
    }
  }
  return orphaned;
}
