import type { Tier } from '../config/schema.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { StateVersionConflictError } from './errors.ts';
import type { AppendResult, EventStore } from './event-store.ts';
import { guardedStatePut, rowSeen, type StateRecord, type StateStore } from './state-store.ts';

export interface AppendWithStateInput {
  readonly tier: Tier;
  readonly events: readonly EventEnvelope[];
  /** The projection row after these events. */
  readonly record: StateRecord;
  /** Version of the row the writer read (0 when there was none). */
  readonly expectedVersion: number;
}

/**
 * Appends events and their projection row in one transaction: the row's version check serializes every
 * writer of the aggregate in this region (commands, appliers, resolutions). Throws
 * `StateVersionConflictError` when another writer moved the row first (with the row it found, `current`); `duplicates` counts events
 * already stored by an earlier attempt (then nothing is written).
 */
export async function appendWithState(
  stores: { events: EventStore; states: StateStore },
  input: AppendWithStateInput,
): Promise<AppendResult> {
  const { record, expectedVersion } = input;
  return stores.events.appendEvents(input.events, {
    tier: input.tier,
    guards: [
      {
        item: guardedStatePut(stores.states.table(), record, expectedVersion),
        onFailure: (seen) =>
          new StateVersionConflictError(record.aggregateId, expectedVersion, { current: rowSeen(seen) }),
      },
    ],
  });
}
