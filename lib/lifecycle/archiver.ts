import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import { archivableEvents, archiveObjects, decodeArchive } from './archive.ts';
import type { ArchiveStore } from './archive-store.ts';
import { ArchiveVerificationError } from './errors.ts';
import { loadAggregate } from './load.ts';
import { retentionHorizon } from './retention.ts';
import type { SnapshotStore } from './snapshot-store.ts';

export interface ArchiverDeps {
  readonly events: EventStore;
  readonly snapshots: SnapshotStore;
  readonly archive: ArchiveStore;
  /** The client and name of the events table, for the conditional deletes. */
  readonly client: DynamoDBDocumentClient;
  readonly eventsTable: string;
}

export interface ArchiveRun {
  /** Events moved out of the hot table. */
  readonly archived: number;
  /** Objects written (one per day of events). */
  readonly objects: readonly string[];
  /** The snapshot version that covered them, or null when none did (nothing moved). */
  readonly coveredBy: number | null;
}

/**
 * Moves an aggregate's events that were logged before its retention horizon and are covered by a snapshot the log
 * confirms out of the hot table into the archive: objects written, read back and compared first, then each
 * event deleted only while its slot still holds that very event. A run that dies half-way leaves events
 * hot (and maybe archived twice: `mergeHistory` keeps each once), never an event in neither place.
 */
export async function archiveAggregate(
  deps: ArchiverDeps,
  aggregate: AnyAggregate,
  input: { aggregateId: string; retentionDays: number; now: number },
): Promise<ArchiveRun> {
  const loaded = await loadAggregate(
    { events: deps.events, snapshots: deps.snapshots },
    aggregate,
    input.aggregateId,
  );
  const snapshot = loaded.snapshot;
  if (!snapshot) return { archived: 0, objects: [], coveredBy: null };
  const hot = await deps.events.loadStream(aggregate.name, input.aggregateId);
  const covered = archivableEvents(hot, snapshot, retentionHorizon(input.now, input.retentionDays));
  if (covered.length === 0) return { archived: 0, objects: [], coveredBy: snapshot.version };
  const objects = archiveObjects(covered);
  for (const object of objects) {
    await deps.archive.put(object.key, object.body);
    // Read back byte for byte (and parsed) before anything leaves the hot table.
    const body = await deps.archive.get(object.key);
    if (body !== object.body) throw new ArchiveVerificationError(object.key);
    decodeArchive(object.key, body);
  }
  for (const event of covered) await deleteIfStill(deps, event);
  return { archived: covered.length, objects: objects.map((o) => o.key), coveredBy: snapshot.version };
}

/** Deletes an event's item unless its slot now holds another event (nothing else is ever deleted). */
async function deleteIfStill(deps: ArchiverDeps, event: EventEnvelope): Promise<void> {
  try {
    await deps.client.send(
      new DeleteCommand({
        TableName: deps.eventsTable,
        Key: { pk: aggregateKey(event.aggregateType, event.aggregateId), sk: eventSortKey('core', event) },
        ConditionExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': event.eventId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
