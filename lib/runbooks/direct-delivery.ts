import { HybridLogicalClock } from '../clock/clock.ts';
import { type CoreHead, extendsHead, headOf } from '../commands/chain.ts';
import { catchUpCoreRow } from '../commands/execute.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { PoisonEventError } from '../replication/errors.ts';
import { validateIncoming } from '../replication/validate.ts';
import { ConcurrencyError } from '../store/errors.ts';
import { eventSortKey } from '../store/keys.ts';
import type { RegionCell } from './ports.ts';

/** An event Repair did not put into a region's log, and why (reported, never thrown). */
export interface RefusedEvent {
  readonly region: string;
  readonly eventId: string;
  /** `type#id`. */
  readonly aggregate: string;
  readonly seq: number;
  /**
   * `slot-taken` (the log holds another event at its seq), `not-chained` (its predecessor in the log is
   * missing or another event), `follows-refused` (an earlier event of its run was refused), or the
   * applier's poison reason (`InvalidPayload`, `ForgedOrigin`, ...).
   */
  readonly reason: string;
  readonly message: string;
}

/** What a direct delivery did. */
export interface DirectDelivery {
  readonly delivered: number;
  readonly refused: RefusedEvent[];
}

const keyOf = (e: EventEnvelope) => `${e.aggregateType}#${e.aggregateId}`;

/** The head of `cell`'s core log just before `event`'s seq: the event at seq - 1; undefined when absent. */
async function headBefore(cell: RegionCell, event: EventEnvelope): Promise<CoreHead | undefined> {
  if (event.seq === 1) return { seq: 0, head: null };
  const afterSortKey = eventSortKey('core', { seq: event.seq - 2, hlc: '' });
  const pages = cell.events.pages(event.aggregateType, event.aggregateId, { afterSortKey, pageSize: 1 });
  for await (const page of pages) {
    const previous = page[0];
    return previous?.seq === event.seq - 1 ? headOf(previous) : undefined;
  }
  return undefined;
}

/**
 * The applier's checks on one event (envelope, the HLC issued by the origin, registered type, upcast
 * payload, size, clock drift), except one: the refusal of an event claiming this region as origin. On the
 * replication path such an event is forged (a region never receives its own events); here Repair read it
 * from a peer's log because this region's copy was lost to a point-in-time restore, and it is written only
 * by this runbook, never taken from the bus. The bug switch brings back appending own events unchecked.
 */
function refusalOf(
  cell: RegionCell,
  event: EventEnvelope,
  checks: { registry: AggregateRegistry; clock: HybridLogicalClock },
): Omit<RefusedEvent, 'region' | 'eventId' | 'aggregate' | 'seq'> | undefined {
  if (bugEnabled('repair-unchecked-own-events') && event.origin === cell.region) return undefined;
  try {
    validateIncoming(structuredClone(event), {
      region: cell.region,
      registry: checks.registry,
      clock: checks.clock,
      maxEventBytes: cell.events.maxEventBytes,
      ownOrigin: 'accept',
    });
    return undefined;
  } catch (error) {
    if (error instanceof PoisonEventError) return { reason: error.reason, message: error.message };
    throw error;
  }
}

/**
 * Puts events a region lacks straight into its log, synchronously, with the applier's checks: a core
 * aggregate's events in seq order, each only on top of its predecessor (`extendsHead`: same chain rule as
 * the applier), each conditionally on its slot being free (the fencing: a taken slot is never
 * overwritten), then the row caught up from the log. A refused event (a taken slot included) is reported
 * and stops its aggregate's run (what follows chains on it); the other aggregates go on. Other tiers:
 * checked and appended (their rows are rebuilt by the caller).
 */
export async function deliverDirectly(
  cell: RegionCell,
  events: readonly EventEnvelope[],
  registry: AggregateRegistry,
): Promise<DirectDelivery> {
  const checks = { registry, clock: new HybridLogicalClock({ region: cell.region }) };
  const runs = new Map<string, EventEnvelope[]>();
  for (const event of events) runs.set(keyOf(event), [...(runs.get(keyOf(event)) ?? []), event]);
  const refused: RefusedEvent[] = [];
  let delivered = 0;
  for (const run of runs.values()) {
    const result = await deliverRun(cell, run, checks);
    delivered += result.delivered;
    refused.push(...result.refused);
  }
  return { delivered, refused };
}

/** One aggregate's events (see deliverDirectly). */
async function deliverRun(
  cell: RegionCell,
  run: EventEnvelope[],
  checks: { registry: AggregateRegistry; clock: HybridLogicalClock },
): Promise<DirectDelivery> {
  const first = run[0]!;
  const aggregate = registryTier(checks.registry, first.aggregateType);
  const core = aggregate?.tier === 'core';
  const ordered = [...run].sort((a, b) => a.seq - b.seq || (a.hlc < b.hlc ? -1 : 1));
  const refused: RefusedEvent[] = [];
  const refuse = (event: EventEnvelope, why: { reason: string; message: string }) =>
    refused.push({
      region: cell.region,
      eventId: event.eventId,
      aggregate: keyOf(event),
      seq: event.seq,
      ...why,
    });
  let head: CoreHead | undefined;
  let delivered = 0;
  for (const [at, event] of ordered.entries()) {
    const why = await checkOne(cell, event, { ...checks, core, head });
    if (why) {
      refuse(event, why);
      if (core) {
        for (const rest of ordered.slice(at + 1))
          refuse(rest, { reason: 'follows-refused', message: `follows refused event ${event.eventId}` });
        break;
      }
      continue;
    }
    delivered++;
    if (core) head = headOf(event);
  }
  if (core && delivered > 0 && aggregate) await catchUpRow(cell, aggregate, first.aggregateId);
  return { delivered, refused };
}

/** Checks and appends one event; the reason it was refused, or undefined once it is in the log. */
async function checkOne(
  cell: RegionCell,
  event: EventEnvelope,
  context: {
    registry: AggregateRegistry;
    clock: HybridLogicalClock;
    core: boolean;
    head: CoreHead | undefined;
  },
): Promise<{ reason: string; message: string } | undefined> {
  const invalid = refusalOf(cell, event, context);
  if (invalid) return invalid;
  const unchecked = bugEnabled('repair-unchecked-own-events') && event.origin === cell.region;
  if (context.core && !unchecked) {
    // The run's previous event, or the log itself where the region holds the events in between.
    const head = context.head?.seq === event.seq - 1 ? context.head : await headBefore(cell, event);
    if (!head || !extendsHead(head, event))
      return {
        reason: 'not-chained',
        message: `seq ${event.seq} does not extend the log's seq ${event.seq - 1}`,
      };
  }
  const tier = context.registry.get(event.aggregateType).tier;
  try {
    // A peer's core event carries the copy marker a failover's collection reads, as the applier's do.
    await cell.events.appendEvents([event], {
      tier,
      received: tier === 'core' && event.origin !== cell.region,
    });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConcurrencyError) || bugEnabled('repair-aborts-on-taken-slot')) throw error;
    return { reason: 'slot-taken', message: `the log holds event ${error.actual ?? 'unknown'} there` };
  }
}

function registryTier(registry: AggregateRegistry, type: string) {
  return registry.has(type) ? registry.get(type) : undefined;
}

/**
 * Folds what was appended into the row. A row another writer keeps moving is left as it is: the caller
 * rebuilds the rows that still differ from their log (rebuildDivergedRows) after the replay.
 */
async function catchUpRow(
  cell: RegionCell,
  aggregate: NonNullable<ReturnType<typeof registryTier>>,
  aggregateId: string,
): Promise<void> {
  try {
    await catchUpCoreRow(cell, aggregate, aggregateId);
  } catch (error) {
    if (!(error instanceof ConcurrencyError)) throw error;
  }
}
