import type { Topology } from '../config/schema.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { StateRecord } from '../store/state-store.ts';
import { SNAPSHOTS_TRIED } from './fold.ts';
import { snapshotDue, snapshotOf } from './snapshot.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** A core append that just landed at the home, with the rows before and after it. */
export interface CoreAppendLanded {
  readonly aggregate: AnyAggregate;
  readonly before: StateRecord;
  readonly after: StateRecord;
  readonly events: readonly EventEnvelope[];
}

export interface SnapshotWriterOptions {
  readonly topology: Pick<Topology, 'aggregates'>;
  readonly store: SnapshotStore;
  /** Told of a snapshot that could not be written (the command's answer does not change). */
  readonly onError?: (error: unknown, landed: CoreAppendLanded) => void;
  readonly now?: () => Date;
}

/**
 * The home's snapshot hook (`CommandDeps.afterCoreAppend`): after a core append whose events cross a
 * multiple of the type's `lifecycle.snapshotEvery`, the row after them is stored as a snapshot (and all
 * but the newest SNAPSHOTS_TRIED of the aggregate deleted). Undefined
 * when no aggregate type asks for snapshots. A failed snapshot is reported, never thrown: the write has
 * landed, and a later multiple (or the full fold) covers the gap.
 */
export function snapshotWriter(
  options: SnapshotWriterOptions,
): ((landed: CoreAppendLanded) => Promise<void>) | undefined {
  const every = new Map<string, number>();
  for (const configured of options.topology.aggregates) {
    const n = configured.lifecycle?.snapshotEvery;
    if (n !== undefined && configured.tier === 'core') every.set(configured.type, n);
  }
  if (every.size === 0) return undefined;
  return async function writeSnapshotIfDue(landed) {
    const { aggregate, before, after, events } = landed;
    const last = events[events.length - 1];
    if (!last || !snapshotDue(every.get(aggregate.name), before.version, after.version)) return;
    try {
      await options.store.put(snapshotOf(aggregate, after, last, options.now?.()));
      // As many as a load tries: older ones can only matter if all of these are of retired branches, and
      // then the full history (archive + hot) is the answer anyway.
      await options.store.prune(aggregate.name, after.aggregateId, SNAPSHOTS_TRIED);
    } catch (error) {
      options.onError?.(error, landed);
    }
  };
}
