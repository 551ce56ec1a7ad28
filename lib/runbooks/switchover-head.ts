import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { groupBy } from '../model/group-by.ts';
import { partitionOf } from '../ownership/partition.ts';
import type { StateRecord } from '../store/state-store.ts';
import { coreAggregatesOf, eventsLackingIn } from './core-lacking.ts';
import { type DeliverySeal, deliverDirectly, type RefusedEvent } from './direct-delivery.ts';
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

/** The target's log and row of each of the head's aggregates (`type#id`), as read at one moment. */
export type TargetView = ReadonlyMap<
  string,
  { events: readonly EventEnvelope[]; row: StateRecord | undefined }
>;

const keyOf = (a: { type: string; id: string }) => `${a.type}#${a.id}`;

/** The target's log and (for the partition's own aggregates) row of one aggregate, consistent reads. */
async function readAtTarget(target: RegionCell, a: { type: string; id: string; rowRead: boolean }) {
  const [events, row] = await Promise.all([
    target.events.loadStream(a.type, a.id, { consistentRead: true }),
    a.rowRead ? target.states.getState(a.type, a.id) : undefined,
  ]);
  return { events, row };
}

/**
 * Reads `source`'s core head of `partition` (see SourceHead; call it only once the source is fenced), and
 * in the same round each aggregate's log and row in `target`: the target is not home and only ever gains
 * the head's events, so reading it alongside costs no round trip of its own.
 */
export async function readSourceHead(
  deps: Deps,
  cells: { source: RegionCell; target: RegionCell },
  partition: number,
): Promise<{ head: SourceHead; view: TargetView }> {
  const { source, target } = cells;
  const keys = await coreAggregatesOf(deps, source, partition, source.source.listLeaves(partition));
  const both = await mapBounded(keys, deps.concurrency ?? 16, async ([type, id]) => {
    // Rows of aggregates homed by another partition are not this switchover's (compareRows' filter).
    const rowRead = partitionOf(id, deps.topology.partitions) === partition;
    const [events, row, there] = await Promise.all([
      source.events.loadStream(type, id, { consistentRead: true }),
      rowRead ? source.states.getState(type, id) : undefined,
      readAtTarget(target, { type, id, rowRead }),
    ]);
    return { aggregate: { type, id, events, row, rowRead }, there };
  });
  return {
    head: { partition, aggregates: both.map((b) => b.aggregate) },
    view: new Map(both.map((b) => [keyOf(b.aggregate), b.there])),
  };
}

/** The target's logs and rows of the head's aggregates, read again (consistent reads). */
export async function readTarget(deps: Deps, target: RegionCell, head: SourceHead): Promise<TargetView> {
  const read = await mapBounded(head.aggregates, deps.concurrency ?? 16, (a) => readAtTarget(target, a));
  return new Map(head.aggregates.map((a, i) => [keyOf(a), read[i]!]));
}

/**
 * The head with the source's rows read again. Its log is final once the source is fenced, its rows are
 * not quite: a home's core write appends first and writes its row after (lib/commands/execute.ts; the
 * publisher catches up a row left behind), so a row of a write committed before the fence may still land.
 */
export async function rereadSourceRows(
  deps: Deps,
  source: RegionCell,
  head: SourceHead,
): Promise<SourceHead> {
  const aggregates = await mapBounded(head.aggregates, deps.concurrency ?? 16, async (a) =>
    a.rowRead ? { ...a, row: await source.states.getState(a.type, a.id) } : a,
  );
  return { ...head, aggregates };
}

/** The head's events the target lacks as `view` shows it, in log order per aggregate. */
export async function lackingAtTarget(
  target: RegionCell,
  head: SourceHead,
  view: TargetView,
): Promise<EventEnvelope[]> {
  const lacking = await Promise.all(
    head.aggregates.map((a) =>
      eventsLackingIn(target, {
        type: a.type,
        id: a.id,
        held: a.events,
        there: view.get(keyOf(a))?.events ?? [],
      }),
    ),
  );
  return lacking.flat();
}

/** What one direct delivery of the head's lacking events did, and the target as read after it. */
export interface HeadDelivery {
  readonly delivered: number;
  readonly refused: readonly RefusedEvent[];
  readonly view: TargetView;
}

/**
 * Puts the head's events `target` lacks straight into its log (Repair's direct delivery: the applier's
 * checks, each core event only on top of its predecessor, with the row guard), then reads the target's
 * logs and rows again: the delivery's own answer is not taken for what the target holds (a refused event,
 * e.g. a slot another branch holds, stays lacking, and the switchover does not move). The bug switch
 * `switchover-trusts-delivery` takes the delivery for done.
 */
export async function deliverHead(
  deps: Deps,
  target: RegionCell,
  head: SourceHead,
  delivery: { readonly lacking: readonly EventEnvelope[]; readonly seal?: DeliverySeal | undefined },
): Promise<HeadDelivery> {
  const { lacking, seal } = delivery;
  // Aggregates are independent (each its own log, row and chain): delivered side by side, each in order.
  const runs = groupBy(lacking, (e) => `${e.aggregateType}#${e.aggregateId}`);
  const outcomes = await mapBounded([...runs.values()], deps.concurrency ?? 16, (events) =>
    deliverDirectly(target, events, deps.registry, seal ? { seal } : {}),
  );
  const delivered = outcomes.reduce((n, o) => n + o.delivered, 0);
  const refused = outcomes.flatMap((o) => o.refused);
  const view = await readTarget(deps, target, head);
  if (!bugEnabled('switchover-trusts-delivery')) return { delivered, refused, view };
  // As if every event had landed: the source's logs stand for the target's.
  const trusted = new Map(view);
  for (const a of head.aggregates) trusted.set(keyOf(a), { events: a.events, row: view.get(keyOf(a))?.row });
  return { delivered, refused, view: trusted };
}

/**
 * The first core aggregate of the partition whose state row differs between the head (the source's rows)
 * and `view` (the target's, read with or after its logs), described; undefined when every row is the same.
 * A target row read a moment before its log's last event was folded differs for one poll: the caller
 * reads again before it refuses.
 */
export function rowDiffering(head: SourceHead, view: TargetView): string | undefined {
  const differing = head.aggregates.find(
    (a) => a.rowRead && rowDigest(a.row) !== rowDigest(view.get(keyOf(a))?.row),
  );
  return differing ? `${differing.type}/${differing.id}` : undefined;
}
