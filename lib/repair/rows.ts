import { createHash } from 'node:crypto';
import { foldCoreLog, rebuildRowFromLog } from '../commands/retire-branch.ts';
import type { ConflictPolicy } from '../config/schema.ts';
import { materialize } from '../conflict/materialize.ts';
import { HistoryIncompleteError } from '../lifecycle/errors.ts';
import { foldLatest, SNAPSHOTS_TRIED } from '../lifecycle/fold.ts';
import type { Snapshot } from '../lifecycle/snapshot.ts';
import type { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateRecord, StateStore } from '../store/state-store.ts';

/**
 * A projection row's digest for the Merkle trees: its version, head and canonical state, the fields every
 * region must hold byte for byte (DESIGN.md invariant 2; what the sandbox's consistency check compares).
 */
export function rowDigest(record: Pick<StateRecord, 'version' | 'head' | 'state'>): string {
  return createHash('sha256')
    .update(`${record.version}|${record.head ?? ''}|${record.state}`)
    .digest('hex');
}

/** The row an aggregate's log folds to: the chained run for core, the materialized set otherwise. */
export function rowOfLog(
  aggregate: AnyAggregate,
  policy: ConflictPolicy,
  input: { aggregateId: string; log: readonly EventEnvelope[]; now?: () => Date },
): StateRecord {
  if (aggregate.tier === 'core') return foldCoreLog(aggregate, input.aggregateId, input.log);
  return materialize({
    aggregate,
    aggregateId: input.aggregateId,
    policy,
    events: input.log,
    ...(input.now ? { now: input.now } : {}),
  }).record;
}

/**
 * Rebuilds one region's row of an aggregate from that region's own log when they disagree (the log is the
 * truth; the row is its projection). Returns true when the row was rewritten.
 */
export async function rebuildRow(
  cell: { readonly events: EventStore; readonly states: StateStore; readonly snapshots?: SnapshotStore },
  aggregate: AnyAggregate,
  input: { aggregateId: string; policy: ConflictPolicy },
): Promise<boolean> {
  const before = await cell.states.getState(aggregate.name, input.aggregateId);
  // A core log whose oldest events were archived folds from the newest snapshot it confirms; without
  // one, the fold of what is left would be a row that starts nowhere (lib/lifecycle, foldLatest).
  const snapshots =
    aggregate.tier === 'core' ? await newestSnapshots(cell, aggregate, input.aggregateId) : [];
  const after = await rebuildRowFromLog(cell, aggregate, input.aggregateId, (log) =>
    snapshots.length > 0
      ? foldFromSnapshots(aggregate, input.aggregateId, snapshots, log)
      : rowOfLog(aggregate, input.policy, { aggregateId: input.aggregateId, log }),
  );
  return before === undefined || rowDigest(before) !== rowDigest(after);
}

/**
 * The fold of a snapshotted core log: from the newest snapshot it confirms. When it confirms none and its
 * oldest events have left it (archived), no row can be rebuilt from it: HistoryIncompleteError, never a row
 * folded from the middle of the log.
 */
function foldFromSnapshots(
  aggregate: AnyAggregate,
  aggregateId: string,
  snapshots: readonly Snapshot[],
  log: readonly EventEnvelope[],
): StateRecord {
  const folded = foldLatest(aggregate, aggregateId, snapshots, log);
  const first = log[0];
  if (!folded.snapshot && first && first.seq !== 1)
    throw new HistoryIncompleteError(aggregate.name, aggregateId, first.seq);
  return folded.record;
}

/** The cell's newest snapshots of a core aggregate (as many as a load tries), newest first. */
async function newestSnapshots(
  cell: { readonly snapshots?: SnapshotStore },
  aggregate: AnyAggregate,
  aggregateId: string,
): Promise<Snapshot[]> {
  const found: Snapshot[] = [];
  if (!cell.snapshots) return found;
  for await (const snapshot of cell.snapshots.newestFirst(aggregate.name, aggregateId)) {
    found.push(snapshot);
    if (found.length >= SNAPSHOTS_TRIED) break;
  }
  return found;
}
