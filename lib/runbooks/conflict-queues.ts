import type { ConflictRecord } from '../conflict/record-store.ts';
import { CONFLICT_STATUS, conflictPairId } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { RegionCell } from './ports.ts';

const idOf = (r: { aggregateType: string; aggregateId: string; eventIds: readonly [string, string] }) =>
  `${r.aggregateType}#${r.aggregateId}#${conflictPairId(...r.eventIds)}`;

/**
 * Marks resolved, in each region of `into`, every open record whose pair another region holds resolved
 * (by an operator: `resolvedBy` names the resolution event) once that region's own log holds the
 * resolution event (switch `repair-resolves-unlogged`: from the other record alone): after a point-in-time restore, a resolution
 * made after T may come back into the region's log only later (or through another path than the
 * applier's), while its record is open again; an operator must never be offered a conflict resolved
 * elsewhere. `markResolved` keeps the smallest `resolvedBy`, so every queue converges on the same record.
 * Returns how many records this call marked resolved.
 */
export async function resolveEverywhere(
  cells: readonly RegionCell[],
  into: readonly string[],
  open: readonly (readonly ConflictRecord[])[],
): Promise<number> {
  if (bugEnabled('repair-skips-conflict-queue')) return 0;
  const aggregates = new Map<string, { aggregateType: string; aggregateId: string }>();
  for (const record of open.flat()) aggregates.set(`${record.aggregateType}#${record.aggregateId}`, record);
  let resolved = 0;
  for (const { aggregateType, aggregateId } of aggregates.values()) {
    const held = await Promise.all(
      cells.map((c) => c.conflicts.listForAggregate(aggregateType, aggregateId)),
    );
    const resolutions = resolutionsIn(held.flat());
    for (const [i, cell] of cells.entries())
      if (into.includes(cell.region))
        resolved += await resolveIn(cell, { aggregateType, aggregateId }, held[i]!, resolutions);
  }
  return resolved;
}

/**
 * Marks resolved the open records of one aggregate in `cell` that another region holds resolved, only once
 * the region's own log holds the resolution event: a record resolved elsewhere by an event that never
 * reached this log (lost with a region restored to before it) stays open here, for an operator to resolve
 * again, instead of "resolved by" an event no log may ever hold. Returns how many it marked.
 */
async function resolveIn(
  cell: RegionCell,
  aggregate: { aggregateType: string; aggregateId: string },
  records: readonly ConflictRecord[],
  resolutions: ReadonlyMap<string, ConflictRecord & { resolvedBy: string }>,
): Promise<number> {
  let resolved = 0;
  let logged: Set<string> | undefined;
  for (const record of records) {
    const resolution = resolutions.get(idOf(record));
    if (record.status !== CONFLICT_STATUS.open || !resolution) continue;
    logged ??= bugEnabled('repair-resolves-unlogged')
      ? undefined
      : new Set(
          (await cell.events.loadStream(aggregate.aggregateType, aggregate.aggregateId)).map(
            (e) => e.eventId,
          ),
        );
    if (logged && !logged.has(resolution.resolvedBy)) continue;
    const { aggregateType: type, aggregateId: id, eventIds, hlcs, origins, resolvedBy } = resolution;
    const pair = { aggregateType: type, aggregateId: id, eventIds, hlcs, origins, resolvedBy };
    await cell.conflicts.markResolved(pair, new Date().toISOString());
    resolved++;
  }
  return resolved;
}

/** The operator's resolution of each pair resolved somewhere (the smallest `resolvedBy`); lww records aside. */
function resolutionsIn(records: readonly ConflictRecord[]) {
  const resolutions = new Map<string, ConflictRecord & { resolvedBy: string }>();
  for (const record of records) {
    if (record.status !== CONFLICT_STATUS.resolved || record.resolvedBy === null || record.policy) continue;
    const known = resolutions.get(idOf(record));
    if (!known || record.resolvedBy < known.resolvedBy)
      resolutions.set(idOf(record), { ...record, resolvedBy: record.resolvedBy });
  }
  return resolutions;
}

/**
 * Recreates, in each region of `into`, the open conflict records (the manual conflict queue) another
 * region holds and it does not: after a point-in-time restore, what was queued there after T survives
 * only in its peers. Not derivable from the logs: a core orphan retired into the queue has left every
 * log, and an operator resolves from any region's queue. A record is created only where the pair has
 * none (`createOpen` is conditional), so a pair already resolved there stays resolved. Returns how many
 * records were created.
 */
export async function recreateOpenConflicts(
  cells: readonly RegionCell[],
  into: readonly string[],
): Promise<{ created: number; resolved: number }> {
  if (bugEnabled('repair-skips-conflict-queue')) return { created: 0, resolved: 0 };
  const listed = await Promise.all(cells.map(async (c) => (await c.conflicts.listOpen?.()) ?? []));
  const resolved = await resolveEverywhere(cells, into, listed);
  const open =
    resolved === 0
      ? listed
      : await Promise.all(cells.map(async (c) => (await c.conflicts.listOpen?.()) ?? []));
  const held = cells.map((_, i) => new Set(open[i]!.map(idOf)));
  let created = 0;
  for (const [i, cell] of cells.entries()) {
    if (!into.includes(cell.region)) continue;
    const seen = new Set<string>();
    for (const record of open.flat()) {
      const id = idOf(record);
      if (held[i]!.has(id) || seen.has(id) || record.status !== CONFLICT_STATUS.open) continue;
      seen.add(id);
      const { status: _status, detectedAt, ...pair } = record;
      if (await cell.conflicts.createOpen({ ...pair, resolvedBy: null }, detectedAt)) created++;
    }
  }
  return { created, resolved };
}
