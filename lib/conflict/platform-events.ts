import { z } from 'zod';
import type { EventEnvelope } from '../model/envelope.ts';

/** Event type of an operator's resolution of a manual conflict (any important aggregate may carry it). */
export const CONFLICT_RESOLVED = 'ConflictResolved';
/** Event type published on the local bus (never replicated) when a conflict record is created. */
export const CONFLICT_DETECTED = 'ConflictDetected';
/** Schema version of `ConflictResolved` payloads. */
export const CONFLICT_RESOLVED_VERSION = 1;

/** `ConflictResolved` payload: the eventIds of every head it resolves and the state chosen by the operator. */
export const conflictResolvedPayloadSchema = z.strictObject({
  resolves: z.array(z.string().min(1)).min(1),
  state: z.unknown().refine((value) => value !== undefined, 'state is required'),
});

export type ConflictResolvedPayload = z.infer<typeof conflictResolvedPayloadSchema>;

/** True when the envelope is an operator's conflict resolution. */
export function isConflictResolved(event: Pick<EventEnvelope, 'type'>): boolean {
  return event.type === CONFLICT_RESOLVED;
}
