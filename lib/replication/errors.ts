import type { StateRecord } from '../store/state-store.ts';

/** Why an incoming event was quarantined instead of applied. */
export const POISON_REASONS = {
  invalidEnvelope: 'InvalidEnvelope',
  unknownAggregateType: 'UnknownAggregateType',
  unknownEventType: 'UnknownEventType',
  unsupportedSchemaVersion: 'UnsupportedSchemaVersion',
  invalidPayload: 'InvalidPayload',
  clockDrift: 'ClockDrift',
  fencingViolation: 'FencingViolation',
  /** A core event that cannot wait parked: another branch's event is parked at its seq already. */
  branchConflict: 'BranchConflict',
  forgedOrigin: 'ForgedOrigin',
  keyCollision: 'KeyCollision',
  eventTooLarge: 'EventTooLarge',
  forbiddenKey: 'ForbiddenKey',
  unauthenticated: 'Unauthenticated',
  /**
   * A lost home's core event that reached this region after a Failover cut that home's history here
   * (lib/ownership/failover-cut.ts): the new home's history supersedes it; kept for Repair/Failback to read.
   */
  supersededByFailover: 'SupersededByFailover',
} as const;
export type PoisonReason = (typeof POISON_REASONS)[keyof typeof POISON_REASONS];

/** Base class of replication errors. */
export class ReplicationError extends Error {
  override readonly name: string = 'ReplicationError';
}

/**
 * An event that can never be applied: retrying would loop forever, dropping it would lose it, so the
 * applier quarantines it with this reason.
 */
export class PoisonEventError extends ReplicationError {
  override readonly name = 'PoisonEventError';
  constructor(
    readonly reason: PoisonReason,
    message: string,
    readonly context: Readonly<Record<string, unknown>> = {},
    options?: ErrorOptions,
  ) {
    super(`${reason}: ${message}`, options);
  }
}

/** A PutEvents entry is larger than EventBridge accepts; it cannot be published as is. */
export class EntryTooLargeError extends ReplicationError {
  override readonly name = 'EntryTooLargeError';
  constructor(
    readonly eventId: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `replication entry for event ${eventId} is ${bytes} bytes; EventBridge accepts at most ${maxBytes}`,
    );
  }
}

/** EventBridge kept refusing an entry (after the bounded retries for throttling). */
export class PublishFailedError extends ReplicationError {
  override readonly name = 'PublishFailedError';
  constructor(
    readonly eventId: string,
    readonly errorCode: string,
    readonly errorMessage: string,
  ) {
    super(`PutEvents refused event ${eventId}: ${errorCode} ${errorMessage}`);
  }
}

/**
 * The home's core row of an event's aggregate could not be caught up with its log now (HomeRows): the
 * event is published, and its record is reported failed so that the stream delivers it again.
 */
export class RowCatchUpError extends ReplicationError {
  override readonly name = 'RowCatchUpError';
  constructor(readonly eventId: string) {
    super(`the home row of event ${eventId}'s aggregate could not be caught up with its log; retried`);
  }
}

/** A stream record that is not an event of this table (no NewImage, unreadable item). */
export class InvalidStreamRecordError extends ReplicationError {
  override readonly name = 'InvalidStreamRecordError';
  constructor(
    readonly sequenceNumber: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`stream record ${sequenceNumber}: ${message}`, options);
  }
}

/** The missing core events could not be fetched from their origin region (retried by redelivery). */
export class GapFetchError extends ReplicationError {
  override readonly name = 'GapFetchError';
  constructor(
    readonly origin: string,
    readonly aggregateId: string,
    readonly range: readonly [number, number],
    options?: ErrorOptions,
  ) {
    super(`could not fetch ${aggregateId} seq ${range[0]}..${range[1]} from ${origin}`, options);
  }
}

/** Applying kept losing the race against other writers of the same aggregate. */
export class ApplyContentionError extends ReplicationError {
  override readonly name = 'ApplyContentionError';
  constructor(
    readonly aggregateId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up applying to ${aggregateId} after ${attempts} lost races`, options);
  }
}

/**
 * The in-order core append's transaction was refused by one of its guards (the projection row moved, or
 * the successor is parked): not a failure, the applier takes the general path instead.
 */
export class InOrderAppendRefusedError extends ReplicationError {
  override readonly name = 'InOrderAppendRefusedError';
  constructor(
    readonly aggregateId: string,
    readonly guard: 'state-row' | 'successor-parked' | 'successor-logged',
    /** The row the state-row guard found stored, when the store returned it (see `rowSeen`). */
    readonly current?: StateRecord,
  ) {
    super(`in-order append to ${aggregateId} refused by its ${guard} guard`);
  }
}
