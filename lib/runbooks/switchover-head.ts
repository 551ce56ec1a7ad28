import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { partitionOf } from '../ownership/partition.ts';
import type { StateRecord } from '../store/state-store.ts';
import { coreAggregatesOf, eventsLackingIn } from './core-lacking.ts';
import { deliverDirectly, type RefusedEvent } from './direct-delivery.ts';
import { mapBounded } from './input.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';
import { rowDigest } from './switchover-plan.ts';

/** One core aggregate of a source's head: its log and its row, read in the source. */
interface HeadAggregate {
  readonly type: string;
  readonly id: string;
  readonly events: readonly EventEnvelope[];
  /** Its row, for an aggregate of the partition (compareRows' filter); `rowRead` false for any other. */
  readonly row: StateRecord | undefined;
  readonly rowRead: boolean;
}

/**
 * The core head of one partition in the source of a switchover: every core aggregate (core markers and
 * the by-partition index) with its log and row, from strongly consistent reads. Read only once the
 * source is known unable to commit a core event of the partition (its own copy of the entry carries the
 * fence, or lease + skew have passed): it is then final, and read once per task instead of per poll.
 */
export interface SourceHead {
  readonly partition: number;
  readonly aggregates: readonly HeadAggregate[];
}

type Deps = Pick<RunbookDeps, 'registry' | 'concurrency' | 'topology'>;

/** Reads `source`'s core head of `partition` (see SourceHead; call it only once the source is fenced). */
export async function readSourceHead(deps: Deps, source: RegionCell, partition: number): Promise<SourceHead> {
  const keys = await coreAggregatesOf(deps, source, partition, source.source.listLeaves(partition));
  const aggregates = await mapBounded(keys, deps.concurrency ?? 16, async ([type, id]) => {
    // Rows of aggregates homed by another partition are not this switchover's (compareRows' filter).
    const rowRead = partitionOf(id, deps.topology.partitions) === partition;
    const [events, row] = await Promise.all([
      source.events.loadStream(type, id, { consistentRead: true }),
      rowRead ? source.states.getState(type, id) : undefined,
    ]);
    return { type, id, events, row, rowRead };
  });
  return { partition, aggregates };
}

/** The head's events `target` lacks (consistent reads of its logs), in log order per aggregate. */
export async function lackingAtTarget(
  deps: Deps,
  target: RegionCell,
  head: SourceHead,
): Promise<EventEnvelope[]> {
  const lacking = await mapBounded(head.aggregates, deps.concurrency ?? 16, async (a) => {
    const there = await target.events.loadStream(a.type, a.id, { consistentRead: true });
    return eventsLackingIn(target, { type: a.type, id: a.id, held: a.events, there });
  });
  return lacking.flat();
}

/** What one direct delivery of the head's lacking events did, and what the target lacks after it. */
export interface HeadDelivery {
  readonly delivered: number;
  readonly refused: readonly RefusedEvent[];
  readonly lacking: readonly EventEnvelope[];
}

/**
 * Puts the head's events `target` lacks straight into its log (Repair's direct delivery: the applier's
 * checks, each core event only on top of its predecessor, with the row guard), then reads the target's
 * logs again: the delivery's own answer is not taken for what the target holds (a refused event, e.g. a
 * slot another branch holds, stays lacking, and the switchover does not move). The bug switch
 * `switchover-trusts-delivery` takes the delivery for done.
 */
export async function deliverHead(
  deps: Deps,
  target: RegionCell,
  head: SourceHead,
  lacking: readonly EventEnvelope[],
): Promise<HeadDelivery> {
  const { delivered, refused } = await deliverDirectly(target, lacking, deps.registry);
  if (bugEnabled('switchover-trusts-delivery')) return { delivered, refused, lacking: [] };
  return { delivered, refused, lacking: await lackingAtTarget(deps, target, head) };
}

/**
 * The first core aggregate whose state row differs between the head (the source's rows) and `target`
 * (read now, after its logs were found holding the head), described; undefined when every row is the same.
 */
export async function rowDiffering(
  deps: Deps,
  target: RegionCell,
  head: SourceHead,
): Promise<string | undefined> {
  const compared = head.aggregates.filter((a) => a.rowRead);
  const differing = await mapBounded(compared, deps.concurrency ?? 16, async (a) => {
    const row = await target.states.getState(a.type, a.id);
    return rowDigest(a.row) === rowDigest(row) ? undefined : `${a.type}/${a.id}`;
  });
  return differing.find((d) => d !== undefined);
}
