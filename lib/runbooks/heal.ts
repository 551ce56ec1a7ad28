import { reconcileConflicts, recordLwwLosers } from '../conflict/reconcile.ts';
import { bugEnabled } from '../faults/switches.ts';
import { readArchivedEvents } from '../lifecycle/archive.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import {
  bucketOf,
  buildMerkleTree,
  diffBuckets,
  type EventLeaf,
  type RowLeaf,
  rootOf,
  treeOfBucketHashes,
} from '../repair/merkle.ts';
import { fetchFromHolders, type LackingEvent, planReplay } from '../repair/plan.ts';
import { replayLanes, replayOrder } from '../repair/repair.ts';
import type { AppendOptions } from '../store/event-store.ts';
import { deliverBatched } from './batched-delivery.ts';
import { deliverDirectly, type RefusedEvent } from './direct-delivery.ts';
import {
  type BranchRules,
  forkedAggregates,
  rebuildDivergedRows,
  settleForks,
  splitKey,
} from './heal-branches.ts';
import type { RegionCell } from './ports.ts';
import { adoptIntoOrigin, type QuorumOrphanRule, settleQuorumOrphans } from './quorum-orphans.ts';
import { timedStage } from './repair-timings.ts';

/** Buckets per partition tree: one aggregate's events always share a bucket. */
export const REPAIR_BUCKETS = 64;

/**
 * Concurrent replay lanes per receiving region and partition (an aggregate stays in one lane, in order).
 * Replay is latency-bound (one applier call, or one PutEvents of ten, at a time per lane).
 */
export const REPLAY_LANES = 8;

/** Each region's Merkle tree of a partition, reduced to what the execution state must carry. */
export interface PartitionTrees {
  readonly partition: number;
  readonly regions: readonly string[];
  readonly roots: Readonly<Record<string, string>>;
  /** Bucket hashes per region, only when the roots differ (keeps the state small when in sync). */
  readonly buckets?: Readonly<Record<string, readonly string[]>>;
  readonly events: Readonly<Record<string, number>>;
}

/** Each region's events of a partition and the digests of their aggregates' rows. */
async function leavesAndRows(cells: readonly RegionCell[], partition: number) {
  return Promise.all(
    cells.map(async (c) => {
      const leaves = await c.source.listLeaves(partition);
      const rows: RowLeaf[] = (await c.source.listRows?.(leaves.map((l) => l.aggregateKey))) ?? [];
      return { leaves, rows };
    }),
  );
}

/** Builds every region's tree of one partition (events and projection rows). */
export async function buildTrees(cells: readonly RegionCell[], partition: number): Promise<PartitionTrees> {
  const read = await leavesAndRows(cells, partition);
  const leaves = read.map((r) => r.leaves);
  const trees = read.map((r) => buildMerkleTree(r.leaves, REPAIR_BUCKETS, r.rows));
  const roots = Object.fromEntries(cells.map((c, i) => [c.region, rootOf(trees[i]!)]));
  const events = Object.fromEntries(
    cells.map((c, i) => [c.region, new Set(leaves[i]!.map((x) => x.eventId)).size]),
  );
  const inSync = new Set(Object.values(roots)).size <= 1;
  return {
    partition,
    regions: cells.map((c) => c.region),
    roots,
    events,
    ...(inSync ? {} : { buckets: Object.fromEntries(cells.map((c, i) => [c.region, trees[i]!.levels[0]!])) }),
  };
}

/** The buckets whose hashes differ between the regions' trees (descending only into differing subtrees). */
export function differingBuckets(trees: PartitionTrees): number[] {
  if (!trees.buckets) return [];
  return diffBuckets(trees.regions.map((r) => treeOfBucketHashes(trees.buckets![r] ?? [])));
}

/** What one partition's replay did. */
export interface ReplayReport {
  /** Events put into each region (replayed through its applier, or delivered by a fork's settlement). */
  readonly replayed: Record<string, number>;
  /** Forked core aggregates brought onto the home's branch (or left for Failback's QueueCoreOrphans). */
  readonly forksSettled: number;
  readonly forksDeferred: number;
  /** Events of losing branches moved into the manual conflict queue. */
  readonly queued: number;
  /** Projection rows rebuilt from their region's log (they differed from it). */
  readonly rowsRebuilt: number;
  /** Events Repair did not put into a region's log (a taken slot, a failed check); the next pass sees them lacking. */
  readonly refused: readonly RefusedEvent[];
}

/**
 * Replays, for the given buckets of a partition, every event a region lacks from a region that has it,
 * through the lacking region's applier (idempotent). `into` limits which regions receive (failback's
 * catch-up only fills the returning region). With `branches`: a forked core aggregate is not replayed as
 * a union; every region is brought onto the home's branch (`forks: 'settle'`, the default) or it is left
 * alone (`'defer'`: Failback settles it in QueueCoreOrphans); and after the replay, a projection row that
 * still differs between regions is rebuilt from its own region's log where the two disagree.
 */
export async function replayBuckets(input: {
  readonly partition: number;
  readonly cells: readonly RegionCell[];
  readonly differing: readonly number[];
  readonly into?: readonly string[];
  /** `core.ack: 'quorum'`: settle core events their home lacks before replaying, see settleQuorumOrphans. */
  readonly quorumOrphans?: QuorumOrphanRule;
  readonly branches?: BranchRules;
  readonly forks?: 'settle' | 'defer';
}): Promise<ReplayReport> {
  const report = {
    replayed: {} as Record<string, number>,
    forksSettled: 0,
    forksDeferred: 0,
    queued: 0,
    refused: [] as RefusedEvent[],
  };
  if (input.differing.length === 0) return { ...report, rowsRebuilt: 0 };
  const wanted = new Set(input.differing);
  const byRegion = new Map(input.cells.map((c) => [c.region, c]));
  const leaves = await timedStage('listLeaves', () =>
    Promise.all(input.cells.map((c) => c.source.listLeaves(input.partition))),
  );
  const inBuckets = (list: EventLeaf[]) =>
    list.filter((l) => wanted.has(bucketOf(l.aggregateKey, REPAIR_BUCKETS)));
  const forked = input.branches ? forkedAggregates(leaves.map(inBuckets)) : new Set<string>();
  if (forked.size > 0) await settleForks(input, forked, report);
  const unforked = (list: EventLeaf[]) => inBuckets(list).filter((l) => !forked.has(l.aggregateKey));
  const plan = planReplay(new Map(input.cells.map((c, i) => [c.region, unforked(leaves[i]!)])));
  const { replayed } = report;
  const lackingByRegion = await lackingOf(input, byRegion, plan.missing, report.refused);
  const rule = input.quorumOrphans;
  const skip = rule
    ? await settleQuorumOrphans({ cells: input.cells, lacking: lackingByRegion, rule })
    : new Set<string>();
  for (const [region, lacking] of lackingByRegion) {
    if (input.into && !input.into.includes(region)) continue;
    const events = lacking.filter((e) => !skip.has(e.eventId));
    if (events.length === 0) continue;
    const delivered = await deliver(byRegion.get(region)!, events, { rule, branches: input.branches });
    if (delivered.delivered > 0) replayed[region] = (replayed[region] ?? 0) + delivered.delivered;
    report.refused.push(...delivered.refused);
  }
  const keys = new Set(leaves.flatMap(inBuckets).map((l) => l.aggregateKey));
  const rowsRebuilt = input.branches
    ? await timedStage('rowRebuild', () => rebuildDivergedRows(input, input.branches!, keys, report.refused))
    : 0;
  return { ...report, rowsRebuilt };
}

/**
 * Full events a region lacks, fetched from the regions that have them: each from its first holder, and
 * when that holder has only its archived stub (getEvents leaves stubs out) from the next one, then from a
 * holder's archive (`RegionCell.archive`). An event no holder and no archive gives whole is refused
 * (`archived-everywhere`), never delivered as a stub and never dropped silently.
 */
async function fetchLacking(
  byRegion: ReadonlyMap<string, RegionCell>,
  partition: number,
  region: string,
  lacking: readonly LackingEvent[],
): Promise<{ events: EventEnvelope[]; refused: RefusedEvent[] }> {
  const singleSource = bugEnabled('repair-single-source');
  const { found, pending } = await fetchFromHolders(
    lacking,
    (source, ids) => byRegion.get(source)!.source.getEvents(partition, ids),
    singleSource ? 1 : Number.POSITIVE_INFINITY,
  );
  if (singleSource) return { events: [...found.values()], refused: [] };
  await fromArchives(byRegion, pending, found);
  const refused: RefusedEvent[] = pending
    .filter((l) => !found.has(l.eventId))
    .map((l) => ({
      region,
      eventId: l.eventId,
      aggregate: l.aggregateKey,
      seq: l.seq ?? 0,
      reason: 'archived-everywhere',
      message: `no holder (${l.sources.join(', ')}) gave it whole (an archived stub, or it left the log) and no archive given to Repair holds it: fetch it from the archive (fullHistory)`,
    }));
  return { events: [...found.values()], refused };
}

/** Each region's lacking events, fetched whole (the regions Repair puts them into, or all under quorum). */
async function lackingOf(
  input: { partition: number; into?: readonly string[]; quorumOrphans?: QuorumOrphanRule },
  byRegion: ReadonlyMap<string, RegionCell>,
  missing: ReadonlyMap<string, readonly LackingEvent[]>,
  refused: RefusedEvent[],
): Promise<Map<string, EventEnvelope[]>> {
  const lackingByRegion = new Map<string, EventEnvelope[]>();
  for (const [region, lacking] of missing) {
    const into = !input.into || input.into.includes(region);
    if (!into && !input.quorumOrphans) continue;
    const fetched = await timedStage('fetch', () => fetchLacking(byRegion, input.partition, region, lacking));
    lackingByRegion.set(region, fetched.events);
    if (into) refused.push(...fetched.refused);
  }
  return lackingByRegion;
}

/** Stubs everywhere: the archive of a holder (or of any cell that has one) holds the payload. */
async function fromArchives(
  byRegion: ReadonlyMap<string, RegionCell>,
  pending: readonly LackingEvent[],
  found: Map<string, EventEnvelope>,
): Promise<void> {
  const byAggregate = new Map<string, LackingEvent[]>();
  for (const l of pending) byAggregate.set(l.aggregateKey, [...(byAggregate.get(l.aggregateKey) ?? []), l]);
  for (const [key, events] of byAggregate) {
    const { type, id } = splitKey(key);
    const holders = [...new Set([...events.flatMap((e) => e.sources), ...byRegion.keys()])];
    for (const holder of holders) {
      const archive = byRegion.get(holder)?.archive;
      if (!archive || events.every((e) => found.has(e.eventId))) continue;
      for (const archived of await readArchivedEvents(archive, type, id))
        if (events.some((e) => e.eventId === archived.eventId)) found.set(archived.eventId, archived);
    }
  }
}

/** The tier of a registered aggregate type; undefined for anything else (heartbeats). */
function tierOf(branches: BranchRules | undefined, type: string): AppendOptions['tier'] | undefined {
  try {
    return branches?.aggregate(type).tier;
  } catch {
    return undefined;
  }
}

/**
 * Puts the events a region lacks into it. With branch rules (the Repair and Failback runbooks), every
 * core event it lacks, whatever its origin, goes straight into its log in seq order per aggregate
 * (deliverDirectly: the applier's checks, synchronously), and so does any own event of another tier:
 * after a point-in-time restore a region lacks its own later events (the applier refuses them as forged)
 * and its peers' interleaved with them; were the peers' left to the applier (asynchronous: the bus), the
 * log would have a gap until they land, and a home write there would take a lost event's seq. The rest
 * (peers' important/ordinary events) is replayed through the applier. Without branch rules: under quorum
 * ack an adopted core event goes into its origin, the rest through the applier.
 */
async function deliver(
  cell: RegionCell,
  events: EventEnvelope[],
  rules: { rule: QuorumOrphanRule | undefined; branches: BranchRules | undefined },
): Promise<{ delivered: number; refused: RefusedEvent[] }> {
  const { rule, branches } = rules;
  if (!branches) {
    const adopted = (e: EventEnvelope) =>
      rule !== undefined && e.origin === cell.region && rule.isCore(e.aggregateType);
    for (const event of events.filter(adopted).sort(replayOrder)) await adoptIntoOrigin(cell, event, rule!);
    await replayThroughApplier(
      cell,
      events.filter((e) => !adopted(e)),
    );
    return { delivered: events.length, refused: [] };
  }
  // The fast path first (whole aggregates, in transactions); what it leaves goes on event by event.
  const registered = events.filter((e) => tierOf(branches, e.aggregateType) !== undefined);
  const batched = await timedStage('batchedWrite', () => deliverBatched(cell, registered, branches));
  const rest = [
    ...events.filter((e) => tierOf(branches, e.aggregateType) === undefined),
    ...batched.leftover,
  ];
  const perEvent = await deliverEventByEvent(cell, rest, branches);
  return { delivered: batched.delivered + perEvent.delivered, refused: perEvent.refused };
}

/** The per-event paths of `deliver` with branch rules: direct delivery, then the applier. */
async function deliverEventByEvent(
  cell: RegionCell,
  events: readonly EventEnvelope[],
  branches: BranchRules,
): Promise<{ delivered: number; refused: RefusedEvent[] }> {
  if (events.length === 0) return { delivered: 0, refused: [] };
  const own = (e: EventEnvelope) => e.origin === cell.region;
  const direct = (e: EventEnvelope) => {
    const tier = tierOf(branches, e.aggregateType);
    if (tier === 'core') return own(e) || !bugEnabled('repair-async-core-replay');
    return tier !== undefined && own(e);
  };
  const result = await timedStage('directDelivery', () =>
    deliverDirectly(cell, events.filter(direct), branches.registry),
  );
  const refused = new Set(result.refused.map((r) => r.eventId));
  const materialized = events.filter(
    (e) => direct(e) && !refused.has(e.eventId) && tierOf(branches, e.aggregateType) !== 'core',
  );
  await timedStage('conflicts', () => reconcileDirect(cell, materialized, branches));
  const replayable = events.filter((e) => !direct(e));
  await replayThroughApplier(cell, replayable);
  return { delivered: result.delivered + replayable.length, refused: result.refused };
}

/**
 * What the applier does after a materialized (important/ordinary) event lands, for the ones Repair put
 * into a log directly: a manual-policy aggregate's conflict records brought up to date with the event (a
 * `ConflictResolved` marks its pairs resolved: after a restore, the region's own resolution comes back
 * this way, and its record, open again at T, must follow), an lww one's losers recorded for audit.
 * Idempotent, as on the applier's path. The bug switch skips it.
 * No notifier: RunbookDeps carries none (the runbook function has no ConflictDetected bus wiring), so a
 * record this creates open is not announced as the applier's would be; it is in the queue (listOpen, the
 * console and the API list it). Wiring one means a notifier in RunbookDeps and the runbook function's
 * grant to put on its bus (review 2, F7).
 */
async function reconcileDirect(
  cell: RegionCell,
  events: readonly EventEnvelope[],
  branches: BranchRules,
): Promise<void> {
  if (bugEnabled('repair-direct-skips-reconcile')) return;
  const now = new Date();
  for (const event of [...events].sort(replayOrder)) {
    const aggregate = branches.aggregate(event.aggregateType);
    if (aggregate.tier !== 'important') continue;
    const policy = branches.policy(aggregate);
    if (policy !== 'manual' && policy !== 'lww') continue;
    const set = await cell.events.loadStream(event.aggregateType, event.aggregateId);
    const pair = { aggregateType: aggregate.name, aggregateId: event.aggregateId, event, set };
    if (policy === 'lww') await recordLwwLosers({ records: cell.conflicts }, pair);
    else await reconcileConflicts({ records: cell.conflicts }, { ...pair, now });
  }
}

async function replayThroughApplier(cell: RegionCell, events: readonly EventEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  await timedStage('applierReplay', () =>
    Promise.all(replayLanes(events, REPLAY_LANES).map((lane) => cell.replay(lane))),
  );
}

/** The forked core aggregates (`type#id`) of one partition: a Merkle pass, then the differing buckets' leaves. */
export async function findForkedAggregates(
  cells: readonly RegionCell[],
  partition: number,
): Promise<string[]> {
  const differing = new Set(differingBuckets(await buildTrees(cells, partition)));
  if (differing.size === 0) return [];
  const leaves = await Promise.all(cells.map((c) => c.source.listLeaves(partition)));
  const inBuckets = leaves.map((list) =>
    list.filter((l) => differing.has(bucketOf(l.aggregateKey, REPAIR_BUCKETS))),
  );
  return [...forkedAggregates(inBuckets)].sort();
}

/** One partition's repair in a single call (trees, diff, replay): what the Map iteration does in three steps. */
export async function healPartition(
  input: Omit<Parameters<typeof replayBuckets>[0], 'differing'>,
): Promise<ReplayReport & { partition: number; bucketsDiffering: number }> {
  const trees = await buildTrees(input.cells, input.partition);
  const differing = differingBuckets(trees);
  const report = await replayBuckets({ ...input, differing });
  return { partition: input.partition, bucketsDiffering: differing.length, ...report };
}
