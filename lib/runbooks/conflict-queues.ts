import { CONFLICT_STATUS, conflictPairId } from '../conflict/records.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { RegionCell } from './ports.ts';

const idOf = (r: { aggregateType: string; aggregateId: string; eventIds: readonly [string, string] }) =>
  `${r.aggregateType}#${r.aggregateId}#${conflictPairId(...r.eventIds)}`;

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
): Promise<number> {
  if (bugEnabled('repair-skips-conflict-queue')) return 0;
  const open = await Promise.all(cells.map(async (c) => (await c.conflicts.listOpen?.()) ?? []));
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
  return created;
}
