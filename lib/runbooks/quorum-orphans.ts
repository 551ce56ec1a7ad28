import { decodeHlc } from '../clock/hlc.ts';
import { coreBranchRetirer } from '../commands/branch-retirer.ts';
import { catchUpCoreRow } from '../commands/execute.ts';
import type { BranchRetirer } from '../commands/quorum-peer.ts';
import { dynamoQuorumPeer } from '../commands/quorum-peer-dynamodb.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** A core event younger than this may belong to a write still in flight: Repair leaves it alone. */
export const QUORUM_ORPHAN_MIN_AGE_MS = 60_000;

/** What the repair needs to settle quorum-ack orphans. */
export interface QuorumOrphanRule {
  readonly isCore: (aggregateType: string) => boolean;
  /** The aggregate definition, to fold an adopted event into a row. */
  readonly aggregate: (aggregateType: string) => AnyAggregate;
  /** The partition's current home (a majority read of the map), or null when it has none. */
  readonly homeOf: (partition: number) => Promise<string | null>;
  /** A branch retirer for a region (tests); absent: `coreBranchRetirer`, queueing in every region given. */
  readonly retire?: (cell: RegionCell) => BranchRetirer;
  readonly minAgeMs?: number;
  readonly now?: () => number;
}

/**
 * Puts an adopted copy into its own origin. The applier refuses an event claiming this region as origin
 * (forged origin), so the event goes straight into the log and the row is caught up from it.
 */
export async function adoptIntoOrigin(
  origin: RegionCell,
  event: EventEnvelope,
  rule: Pick<QuorumOrphanRule, 'aggregate'>,
): Promise<void> {
  const aggregate = rule.aggregate(event.aggregateType);
  await origin.events.appendEvents([event], { tier: 'core' });
  await catchUpCoreRow(origin, aggregate, event.aggregateId);
}

/** True when `event` extends `log` (the home's log of its aggregate): its seq is next, its prev the head. */
function extendsLog(log: readonly EventEnvelope[], event: EventEnvelope): boolean {
  const head = log[log.length - 1];
  return head
    ? head.seq === event.seq - 1 && head.hlc === event.prev
    : event.seq === 1 && event.prev === null;
}

/**
 * Settles the core events some region lacks before Repair replays them, under `core.ack: 'quorum'`, and
 * returns the ids to leave out of the replay. Nothing is ever deleted. The authority is the partition's
 * current home, read strongly consistently (never the eventually consistent by-partition index): an
 * event in the home's log is history and is replayed like any other, so the copies of an acknowledged
 * write are never touched. One the home lacks is an orphan (a write answered 503 by a home since failed
 * over): left alone while younger than `minAgeMs` (it may be in flight); adopted into the home when it
 * extends the home's log (the client was told "outcome unknown", so it may take effect), then replayed;
 * otherwise it is a losing branch, retired into the conflict queues of every region given by the chain
 * module's `retireCoreBranch` (`coreBranchRetirer`).
 */
export async function settleQuorumOrphans(input: {
  readonly cells: readonly RegionCell[];
  /** Per receiving region, the events it lacks (already fetched). */
  readonly lacking: ReadonlyMap<string, readonly EventEnvelope[]>;
  readonly rule: QuorumOrphanRule;
}): Promise<Set<string>> {
  if (bugEnabled('repair-deletes-quorum-copy')) return legacyDiscard(input);
  const { rule } = input;
  const skip = new Set<string>();
  const distinct = new Map<string, EventEnvelope>();
  for (const events of input.lacking.values())
    for (const event of events) if (rule.isCore(event.aggregateType)) distinct.set(event.eventId, event);
  const homeLogs = new Map<string, Promise<EventEnvelope[]>>();
  const homeLog = (home: RegionCell, event: EventEnvelope) => {
    const key = `${home.region}|${event.aggregateType}#${event.aggregateId}`;
    const log = homeLogs.get(key) ?? home.events.loadStream(event.aggregateType, event.aggregateId);
    homeLogs.set(key, log);
    return log;
  };
  // In seq order, so an orphan run is adopted from its first event on.
  for (const event of [...distinct.values()].sort((a, b) => a.seq - b.seq)) {
    const homeName = await rule.homeOf(event.partition);
    const found = input.cells.find((c) => c.region === homeName);
    // Without the authority (no home, or not among the cells) nothing is replayed or changed.
    if (
      !found ||
      !(await settleOne({ cells: input.cells, home: found, log: await homeLog(found, event), rule }, event))
    )
      skip.add(event.eventId);
  }
  return skip;
}

/** Decides one event against its home's log (see settleQuorumOrphans); true when it is to be replayed. */
async function settleOne(
  context: {
    readonly cells: readonly RegionCell[];
    readonly home: RegionCell;
    /** The home's log of the event's aggregate (adopted events are pushed onto it). */
    readonly log: EventEnvelope[];
    readonly rule: QuorumOrphanRule;
  },
  event: EventEnvelope,
): Promise<boolean> {
  const { cells, home, log, rule } = context;
  const atHome = log.find((e) => e.seq === event.seq);
  if (atHome?.eventId === event.eventId) return true;
  const age = (rule.now ?? Date.now)() - decodeHlc(event.hlc).wall;
  if (age < (rule.minAgeMs ?? QUORUM_ORPHAN_MIN_AGE_MS)) return false;
  if (!atHome && extendsLog(log, event) && (await adopt(home, event, rule))) {
    log.push(event);
    return true;
  }
  await retireEverywhere(cells, event, log, rule);
  return false;
}

/** Appends an orphan to the home's log (conditionally) and folds it; false when the slot got taken. */
async function adopt(home: RegionCell, event: EventEnvelope, rule: QuorumOrphanRule): Promise<boolean> {
  try {
    await adoptIntoOrigin(home, event, rule);
    return true;
  } catch (error) {
    if (error instanceof ConcurrencyError) return false;
    throw error;
  }
}

/** Retires a losing event (and what its holders built on it) at every holder, queued in every region given. */
async function retireEverywhere(
  cells: readonly RegionCell[],
  event: EventEnvelope,
  winning: readonly EventEnvelope[],
  rule: QuorumOrphanRule,
): Promise<void> {
  const retire = rule.retire ?? coreBranchRetirer(rule.aggregate, cells);
  for (const cell of cells) {
    const log = await cell.events.loadStream(event.aggregateType, event.aggregateId);
    const at = log.findIndex((e) => e.eventId === event.eventId);
    if (at >= 0) await retire(cell)({ losing: log.slice(at), winning, reason: 'quorum-orphan' });
  }
}

/** True when a holder has built on `event`: a later event of the aggregate, or a row that folded it. */
async function builtUpon(holder: RegionCell, event: EventEnvelope): Promise<boolean> {
  const [log, row] = await Promise.all([
    holder.events.loadStream(event.aggregateType, event.aggregateId),
    holder.states.getState(event.aggregateType, event.aggregateId),
  ]);
  return log.some((e) => e.seq > event.seq) || (row?.seq ?? 0) >= event.seq;
}

/**
 * Bug switch `repair-deletes-quorum-copy`: the old rule. An event its origin lacks according to the
 * (eventually consistent) by-partition index, which no holder has built on, was deleted at its holders
 * with no age guard, which could leave an acknowledged write with a single copy (issue 11, scenario 5).
 */
async function legacyDiscard(input: {
  readonly cells: readonly RegionCell[];
  readonly lacking: ReadonlyMap<string, readonly EventEnvelope[]>;
  readonly rule: QuorumOrphanRule;
}): Promise<Set<string>> {
  const skip = new Set<string>();
  for (const [region, events] of input.lacking) {
    for (const event of events) {
      if (event.origin !== region || !input.rule.isCore(event.aggregateType) || skip.has(event.eventId))
        continue;
      const holders = input.cells.filter(
        (c) => !(input.lacking.get(c.region) ?? []).some((e) => e.eventId === event.eventId),
      );
      const built = await Promise.all(holders.map((h) => builtUpon(h, event)));
      if (built.some(Boolean)) continue;
      for (const holder of holders) {
        const { client, events: log, replication, control } = holder.tables;
        const tables = { events: log, replication, control };
        await dynamoQuorumPeer({ region: holder.region, client, tables }).discard(event);
      }
      skip.add(event.eventId);
    }
  }
  return skip;
}

/** The rule for a runbook's repairs: only under `core.ack: 'quorum'` (spread into replayBuckets/healPartition). */
export function quorumOrphanRule(deps: RunbookDeps): { quorumOrphans?: QuorumOrphanRule } {
  if (deps.topology.core.ack !== 'quorum') return {};
  const homes = new Map<number, Promise<string | null>>();
  return {
    quorumOrphans: {
      isCore: (type) => deps.registry.has(type) && deps.registry.get(type).tier === 'core',
      aggregate: (type) => deps.registry.get(type),
      homeOf: (partition) =>
        homes.get(partition) ??
        homes
          .set(
            partition,
            deps.map.read(partition).then((e) => e?.home ?? null),
          )
          .get(partition)!,
      ...(deps.retireBranch ? { retire: deps.retireBranch } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    },
  };
}
