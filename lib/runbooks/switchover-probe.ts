import { bugEnabled } from '../faults/index.ts';
import { partitionOf } from '../ownership/partition.ts';
import type { EventLeaf } from '../repair/merkle.ts';
import { coreEventsLacking } from './core-lacking.ts';
import { ProbeFailedError } from './errors.ts';
import type { RunbookDeps } from './ports.ts';
import type { WatermarkCheck } from './switchover-check.ts';
import { aggregatesOf, rowDigest, type SwitchoverMove } from './switchover-plan.ts';

/** Compares the core rows of the partition in source and target (both must hold the same events). */
async function compareRows(
  deps: RunbookDeps,
  move: SwitchoverMove,
  leaves: readonly EventLeaf[],
): Promise<number> {
  const [source, target] = [deps.cell(move.from), deps.cell(move.to)];
  const aggregates = aggregatesOf(leaves);
  for (const [type, id] of aggregates) {
    if (partitionOf(id, deps.topology.partitions) !== move.partition) continue;
    if (!deps.registry.has(type) || deps.registry.get(type).tier !== 'core') continue;
    const [a, b] = await Promise.all([source.states.getState(type, id), target.states.getState(type, id)]);
    if (rowDigest(a) !== rowDigest(b))
      throw new ProbeFailedError(move.partition, `${type}/${id} differs between ${move.from} and ${move.to}`);
  }
  return aggregates.length;
}

/**
 * Partitions whose core rows CheckWatermark (`$.checkWatermark`, caught up) compared and found the same,
 * with the number of aggregates compared: VerifyProbe takes that comparison, made while the partition was
 * fenced, instead of reading the rows again. The bug switch `probe-rows-after-unfence` (an older
 * VerifyProbe) always compares again.
 */
export function rowsCompared(raw: Record<string, unknown>): Map<number, number> {
  const check = raw.checkWatermark as { caughtUp?: unknown; partitions?: unknown } | undefined;
  if (check?.caughtUp !== true || !Array.isArray(check.partitions) || bugEnabled('probe-rows-after-unfence'))
    return new Map();
  const same = (check.partitions as Array<Partial<WatermarkCheck>>).filter(
    (p) => p.rows === 'same' && p.missing === 0 && typeof p.partition === 'number',
  );
  return new Map(same.map((p) => [p.partition!, p.aggregates ?? 0]));
}

/**
 * VerifyProbe of one move. The machine runs it once CheckWatermark is reached, before MoveHome: the
 * partition is fenced (the source confirmed it, or its lease ran out) and the target is not home yet, so
 * no core write can land in either region and every core row must be identical (`rows`). Run after the
 * Unfence instead (an older machine, or a caller driving the tasks), the new home may already have
 * acknowledged writes (a cooperative unfence lets it write at once) and rows differ rightly: the probe
 * then checks what the move promised, that the target's log holds every core event the source holds
 * (`logs`, strongly consistent reads; the fenced source writes nothing of its own any more).
 */
export async function probeMove(deps: RunbookDeps, move: SwitchoverMove) {
  const { partition } = move;
  // The source's leaves are read with the entry (both reads; which check runs depends on the entry).
  const [entry, listed] = await Promise.all([
    deps.map.read(partition),
    move.from === move.to ? [] : deps.cell(move.from).source.listLeaves(partition),
  ]);
  const fenced = entry?.home === move.from && entry.state === 'fenced';
  const moved = entry?.home === move.to && entry.state === 'active';
  if (!fenced && !moved) throw new ProbeFailedError(partition, `the map says ${entry?.home}/${entry?.state}`);
  if (move.from === move.to) return { partition, aggregatesInPartition: 0, compared: 'none' as const };
  if (fenced || bugEnabled('probe-rows-after-unfence'))
    return {
      partition,
      aggregatesInPartition: await compareRows(deps, move, listed),
      compared: 'rows' as const,
    };
  const [source, target] = [deps.cell(move.from), deps.cell(move.to)];
  const lacking = await coreEventsLacking(deps, { holder: source, other: target, partition }, listed);
  if (lacking.length > 0)
    throw new ProbeFailedError(
      partition,
      `${move.to} lacks ${lacking.length} core event(s) ${move.from} holds (e.g. ${lacking[0]!})`,
    );
  return {
    partition,
    aggregatesInPartition: new Set(listed.map((l) => l.aggregateKey)).size,
    compared: 'logs' as const,
  };
}
