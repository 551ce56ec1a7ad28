import type { ConflictPolicy } from '../config/schema.ts';
import { policyFor } from '../conflict/policy.ts';
import { bugEnabled } from '../faults/switches.ts';
import { HistoryIncompleteError } from '../lifecycle/errors.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import type { EventLeaf } from '../repair/merkle.ts';
import { rebuildRow } from '../repair/rows.ts';
import { settleCoreAggregate } from './core-branches.ts';
import type { RefusedEvent } from './direct-delivery.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** What Repair and Failback need to settle forked core logs and rebuild rows (registry and quorum map). */
export interface BranchRules {
  readonly aggregate: (aggregateType: string) => AnyAggregate;
  /** The registry, for the applier's checks on the events Repair puts into a log directly. */
  readonly registry: AggregateRegistry;
  readonly policy: (aggregate: AnyAggregate) => ConflictPolicy;
  /**
   * The partition's current home and the epoch of the entry naming it (a majority read of the map); no
   * home when it has none. The settlement's retires check the entry still names them.
   */
  readonly ownerOf: (partition: number) => Promise<PartitionOwner>;
}

/** A partition's home as read from the map, with the epoch of that entry (both absent: no entry). */
export interface PartitionOwner {
  readonly home: string | undefined;
  readonly epoch?: number;
}

/** The owner an entry read from the map names (switch `retire-ignores-home-move`: the home alone). */
export function ownerIn(
  entry: { readonly home: string; readonly epoch: number } | null | undefined,
): PartitionOwner {
  if (!entry) return { home: undefined };
  return bugEnabled('retire-ignores-home-move')
    ? { home: entry.home }
    : { home: entry.home, epoch: entry.epoch };
}

/** The branch rules of a runbook: aggregates and policies from the registry, homes from the quorum map. */
export function branchRules(deps: RunbookDeps): BranchRules {
  return {
    aggregate: (type) => deps.registry.get(type),
    registry: deps.registry,
    policy: (aggregate) => policyFor(aggregate, deps.topology),
    ownerOf: async (partition) => ownerIn(await deps.map.read(partition)),
  };
}

/**
 * Core aggregates whose logs hold two different events at one seq in two regions: a fork. Their events
 * are settled by `settleCoreAggregate`, never replayed as a union (that would join the branches).
 */
export function forkedAggregates(leavesByRegion: readonly (readonly EventLeaf[])[]): Set<string> {
  const slots = new Map<string, string>();
  const forked = new Set<string>();
  for (const leaves of leavesByRegion)
    for (const leaf of leaves) {
      if (leaf.seq === undefined) continue;
      const slot = `${leaf.aggregateKey}#${leaf.seq}`;
      const seen = slots.get(slot);
      if (seen === undefined) slots.set(slot, leaf.eventId);
      else if (seen !== leaf.eventId) forked.add(leaf.aggregateKey);
    }
  return forked;
}

/** `type#id` -> its parts (ids hold no '#'). */
export function splitKey(key: string): { type: string; id: string } {
  const at = key.lastIndexOf('#');
  return { type: key.slice(0, at), id: key.slice(at + 1) };
}

/** Settles (or counts as deferred) each forked aggregate of the partition, adding to `report`. */
export async function settleForks(
  input: {
    readonly partition: number;
    readonly cells: readonly RegionCell[];
    readonly branches?: BranchRules;
    readonly forks?: 'settle' | 'defer';
  },
  forked: ReadonlySet<string>,
  report: { replayed: Record<string, number>; forksSettled: number; forksDeferred: number; queued: number },
) {
  if (input.forks === 'defer') {
    report.forksDeferred += forked.size;
    return;
  }
  const owner = await input.branches!.ownerOf(input.partition);
  for (const key of forked) {
    const { type, id } = splitKey(key);
    const settled = await settleCoreAggregate({
      aggregate: input.branches!.aggregate(type),
      aggregateId: id,
      cells: input.cells,
      ...owner,
    });
    report.forksSettled++;
    report.queued += settled.queued.length;
    for (const [region, n] of Object.entries(settled.replayed))
      report.replayed[region] = (report.replayed[region] ?? 0) + n;
  }
}

/**
 * Rebuilds one row; a row whose log cannot be folded (stubs no usable snapshot or archive covers: e.g. every
 * kept snapshot is of an older stateVersion) is this aggregate's refusal (`row-unfoldable`), not the
 * partition's (bug switch `repair-aborts-on-unfoldable-row`: thrown, the Replay aborts).
 */
async function rebuildOrRefuse(
  cell: RegionCell,
  row: { aggregate: AnyAggregate; key: string; id: string; policy: ConflictPolicy },
  refused: RefusedEvent[],
): Promise<boolean> {
  try {
    return await rebuildRow(cell, row.aggregate, { aggregateId: row.id, policy: row.policy });
  } catch (error) {
    if (!(error instanceof HistoryIncompleteError) || bugEnabled('repair-aborts-on-unfoldable-row'))
      throw error;
    refused.push({
      region: cell.region,
      eventId: '',
      aggregate: row.key,
      seq: error.archivedSeq ?? error.firstSeq,
      reason: 'row-unfoldable',
      message: `row not rebuilt: ${error.message}`,
    });
    return false;
  }
}

/**
 * Rows of the given aggregates that still differ between regions after the replay: each region's row is
 * checked against its own log and rebuilt where they disagree (a row that diverged from its log).
 */
export async function rebuildDivergedRows(
  input: { readonly cells: readonly RegionCell[]; readonly into?: readonly string[] },
  rules: BranchRules,
  keys: ReadonlySet<string>,
  refused: RefusedEvent[] = [],
): Promise<number> {
  if (keys.size === 0) return 0;
  const rows = await Promise.all(input.cells.map((c) => c.source.listRows?.([...keys]) ?? []));
  const digests = rows.map((list) => new Map(list.map((r) => [r.aggregateKey, r.digest])));
  let rebuilt = 0;
  for (const key of keys) {
    if (new Set(digests.map((d) => d.get(key) ?? '')).size <= 1) continue;
    const { type, id } = splitKey(key);
    const aggregate = rules.aggregate(type);
    for (const cell of input.cells) {
      if (input.into && !input.into.includes(cell.region)) continue;
      const row = { aggregate, key, id, policy: rules.policy(aggregate) };
      if (await rebuildOrRefuse(cell, row, refused)) rebuilt++;
    }
  }
  return rebuilt;
}
