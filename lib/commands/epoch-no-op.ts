import { z } from 'zod';
import type { DomainEvent } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';

/**
 * Event type a core home appends on top of an aggregate's chain whose head an earlier epoch wrote, when
 * a command decided as a no-op must be acknowledged: Raft's no-op entry of a new term. The chain below
 * is then committed through a write of the home's epoch (see `committedThrough`). The platform's own:
 * an aggregate's `evolve` never sees it; it counts as a version of the row and nothing else.
 */
export const EPOCH_NO_OP = 'EpochNoOp';
/** Schema version of `EpochNoOp` payloads. */
export const EPOCH_NO_OP_VERSION = 1;

/** `EpochNoOp` payload: the epoch of the home that wrote it. */
export const epochNoOpPayloadSchema = z.strictObject({ epoch: z.number().int().nonnegative() });

/** True when the event is a home's epoch no-op. */
export function isEpochNoOp(event: Pick<EventEnvelope, 'type'>): boolean {
  return event.type === EPOCH_NO_OP;
}

/** The epoch no-op of a home at `epoch`, as a decided event. */
export function epochNoOp(epoch: number): DomainEvent {
  return { type: EPOCH_NO_OP, payload: { epoch } };
}
