import type { AnyAggregate } from '../model/aggregate.ts';
import { settleCoreAggregate } from './core-branches.ts';
import type { Orphan } from './orphans.ts';
import type { RegionCell } from './ports.ts';

/** What happened to one core orphan at failback. */
export interface CoreOrphanOutcome {
  readonly eventId: string;
  readonly aggregate: string;
  readonly seq: number;
  /**
   * adopted: it extends the home's branch (a seq the home never used, on top of the home's events), so it
   * is in every region's log now; queued: it is off that branch, so it is in the manual conflict queue of
   * every region with its full envelope (`kept` = the home's event it lost to).
   */
  readonly outcome: 'adopted' | 'queued';
  readonly kept?: string;
}

/**
 * Settles the core orphans of one aggregate (events only the returning region held) by bringing every
 * region, not only the returning one, onto the home's branch (`settleCoreAggregate`). An orphan that
 * extends that branch is adopted; every other one (at a seq the home reused, or after such a fork: its
 * `prev` names the losing branch) goes to the manual conflict queue of every region before it leaves any
 * log. So every orphan ends adopted or queued, and nothing is dropped silently.
 */
export async function settleCoreOrphans(input: {
  readonly orphans: readonly Orphan[];
  readonly aggregate: AnyAggregate;
  /** The returning region and its peers. */
  readonly cells: readonly RegionCell[];
  /** The partition's current home. */
  readonly home: string | undefined;
  /** The epoch of the map entry `home` was read from (each retire checks it still holds). */
  readonly epoch?: number;
}): Promise<CoreOrphanOutcome[]> {
  const first = input.orphans[0]!.event;
  const settled = await settleCoreAggregate({
    aggregate: input.aggregate,
    aggregateId: first.aggregateId,
    cells: input.cells,
    home: input.home,
    ...(input.epoch !== undefined ? { epoch: input.epoch } : {}),
  });
  const onBranch = new Set(settled.winning.map((e) => e.eventId));
  const queued = new Map(settled.queued.map((q) => [q.eventId, q]));
  const outcomes: CoreOrphanOutcome[] = [];
  for (const { event } of [...input.orphans].sort((a, b) => a.event.seq - b.event.seq)) {
    const aggregate = `${event.aggregateType}#${event.aggregateId}`;
    const base = { eventId: event.eventId, aggregate, seq: event.seq };
    if (onBranch.has(event.eventId)) outcomes.push({ ...base, outcome: 'adopted' });
    const record = queued.get(event.eventId);
    if (record) outcomes.push({ ...base, outcome: 'queued', kept: record.kept });
  }
  return outcomes;
}
