import { createHash } from 'node:crypto';
import { foldCoreLog, rebuildRowFromLog } from '../commands/retire-branch.ts';
import type { ConflictPolicy } from '../config/schema.ts';
import { materialize } from '../conflict/materialize.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import { coreLogFolder } from '../lifecycle/core-fold.ts';
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
 * truth; the row is its projection). A core log is folded archive-aware (lib/lifecycle `coreLogFolder`:
 * from seq 1, else from a snapshot at or above its archived stubs, else from the archive; neither:
 * HistoryIncompleteError, never a row folded from the middle of the log). Returns true when the row was
 * rewritten.
 */
export async function rebuildRow(
  cell: {
    readonly events: EventStore;
    readonly states: StateStore;
    readonly snapshots?: SnapshotStore | undefined;
    readonly archive?: ArchiveStore | undefined;
  },
  aggregate: AnyAggregate,
  input: { aggregateId: string; policy: ConflictPolicy },
): Promise<boolean> {
  const before = await cell.states.getState(aggregate.name, input.aggregateId);
  const fold =
    aggregate.tier === 'core'
      ? await coreLogFolder(cell, aggregate, input.aggregateId)
      : (log: readonly EventEnvelope[]) =>
          rowOfLog(aggregate, input.policy, { aggregateId: input.aggregateId, log });
  const after = await rebuildRowFromLog(cell, aggregate, input.aggregateId, fold);
  return before === undefined || rowDigest(before) !== rowDigest(after);
}
