import { catchUpCoreRow } from '../commands/execute.ts';
import { bugEnabled } from '../faults/index.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { AggregateRegistry } from '../model/index.ts';
import type { EventStore } from '../store/event-store.ts';
import type { StateStore } from '../store/state-store.ts';

/**
 * Keeps the home's core rows caught up with its own log, from the events table's stream. A core write
 * appends first and writes its row after; when the append's answer times out (AppendTimeoutError: the
 * append may still land) or the process dies in between, the log holds the event and the row does not.
 * A read or the next command there catches the row up, but nothing else does: a transfer whose
 * `SagaBegun` landed that way has no row at its home, so its home's sweep (which finds sagas through the
 * row's due index) never resumes it, and it stays in doubt for good. The publisher sees every local
 * append within a stream poll, so it closes that gap: no home row stays behind its log for longer than
 * the stream's lag. The catch-up only folds what the local log holds (catchUpCoreRow), so it is safe at a
 * region that is no longer the home.
 */
export interface HomeRows {
  /**
   * Catches up the rows of the core aggregates among `events` (local-origin events of one stream batch);
   * answers the event ids whose aggregate's row could not be caught up now (their records are retried).
   */
  catchUp(events: readonly EventEnvelope[]): Promise<Set<string>>;
}

export interface HomeRowDeps {
  readonly registry: AggregateRegistry;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly onError?: (key: string, error: unknown) => void;
}

/** The newest core seq per aggregate among the events, with the ids of the events it covers. */
function coreAggregates(registry: AggregateRegistry, events: readonly EventEnvelope[]) {
  const found = new Map<string, { type: string; id: string; seq: number; eventIds: string[] }>();
  for (const event of events) {
    if (!registry.has(event.aggregateType) || registry.get(event.aggregateType).tier !== 'core') continue;
    const key = `${event.aggregateType}/${event.aggregateId}`;
    const entry = found.get(key) ?? {
      type: event.aggregateType,
      id: event.aggregateId,
      seq: 0,
      eventIds: [],
    };
    entry.seq = Math.max(entry.seq, event.seq);
    entry.eventIds.push(event.eventId);
    found.set(key, entry);
  }
  return found;
}

/**
 * One row read per core aggregate of the batch; a row already at (or past) the batch's newest seq costs
 * nothing more, a row behind is folded forward from the log (one Query, one conditional Put).
 * @example const rows = homeRowCatchUp({ registry, events, states }); await publishStreamRecords(records, { region, bus, rows });
 */
export function homeRowCatchUp(deps: HomeRowDeps): HomeRows {
  return {
    async catchUp(events) {
      const failed = new Set<string>();
      if (bugEnabled('home-row-left-behind')) return failed;
      // In parallel: the batch is published after this, so its reads add to the replication lag once.
      await Promise.all(
        [...coreAggregates(deps.registry, events)].map(async ([key, entry]) => {
          try {
            const row = await deps.states.getState(entry.type, entry.id);
            if (row && row.seq >= entry.seq) return;
            await catchUpCoreRow(deps, deps.registry.get(entry.type), entry.id, row);
          } catch (error) {
            deps.onError?.(key, error);
            for (const id of entry.eventIds) failed.add(id);
          }
        }),
      );
      return failed;
    },
  };
}
