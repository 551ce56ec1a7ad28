import type { EventEnvelope } from '../model/envelope.ts';
import type { ConflictRecord, ConflictRecordPort } from './record-store.ts';
import { CONFLICT_STATUS, conflictPairsFor, lwwOutcome } from './records.ts';

/** Announces a new conflict record: the handler publishes `ConflictDetected` on the LOCAL bus (never replicated). */
export interface ConflictNotifier {
  conflictDetected(record: ConflictRecord): Promise<void>;
}

export interface ReconcileInput {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The arriving (or locally appended) event. */
  readonly event: EventEnvelope;
  /** The aggregate's set of events including `event`. */
  readonly set: readonly EventEnvelope[];
  readonly now: Date;
}

/**
 * Brings the conflict records of a manual-policy aggregate up to date with an event's arrival: a record
 * per pair it is concurrent with (created resolved if a known resolution covers it) and, for a
 * `ConflictResolved`, every pair it covers marked resolved. Idempotent: safe to run again on redelivery.
 * Returns the records created open by this call (each announced once through the notifier).
 */
export async function reconcileConflicts(
  deps: { records: ConflictRecordPort; notifier?: ConflictNotifier },
  input: ReconcileInput,
): Promise<ConflictRecord[]> {
  const at = input.now.toISOString();
  const pairs = conflictPairsFor(
    { type: input.aggregateType, id: input.aggregateId },
    input.event,
    input.set,
  );
  const created: ConflictRecord[] = [];
  for (const pair of pairs) {
    if (pair.resolvedBy !== null) {
      await deps.records.markResolved({ ...pair, resolvedBy: pair.resolvedBy }, at);
      continue;
    }
    if (await deps.records.createOpen(pair, at)) {
      const record: ConflictRecord = { ...pair, status: CONFLICT_STATUS.open, detectedAt: at };
      created.push(record);
      await deps.notifier?.conflictDetected(record);
    }
  }
  return created;
}

/**
 * Records every `lww` pair an event's arrival takes part in, resolved (the lower HLC lost) and kept for
 * audit: one record per concurrent pair of the final set, the same in every region whatever the arrival
 * order (see `conflictPairsFor`). Idempotent. Returns how many records this call created.
 */
export async function recordLwwLosers(
  deps: { records: ConflictRecordPort },
  input: Omit<ReconcileInput, 'now'>,
): Promise<number> {
  const pairs = conflictPairsFor(
    { type: input.aggregateType, id: input.aggregateId },
    input.event,
    input.set,
  );
  let created = 0;
  for (const pair of pairs) if (await deps.records.recordSettled(pair, lwwOutcome(pair))) created++;
  return created;
}
