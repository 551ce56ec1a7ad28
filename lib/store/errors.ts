import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { StateRecord } from './state-store.ts';

/**
 * A write that met a concurrent transaction on one of its items: DynamoDB refuses a plain write to an item an
 * in-flight transaction holds (`TransactionConflictException`, which the SDK does not retry), and cancels a
 * transaction whose item another transaction holds (reason `TransactionConflict`). The writer lost a race.
 */
export function isTransactionConflict(error: unknown): boolean {
  if (error instanceof TransactionCanceledException)
    return (error.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict');
  return error instanceof Error && error.name === 'TransactionConflictException';
}

/** Base class of event and state store errors. */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/** Another writer appended at the same position first (optimistic concurrency). */
export class ConcurrencyError extends StoreError {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly aggregateId: string,
    readonly expected: string,
    readonly actual: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`concurrent append to ${aggregateId} at ${expected} (found event ${actual ?? 'unknown'})`, options);
  }
}

/** An event is larger than the configured maximum (a DynamoDB item holds at most 400 KB). */
export class EventTooLargeError extends StoreError {
  override readonly name = 'EventTooLargeError';
  constructor(
    readonly eventId: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`event ${eventId} is ${bytes} bytes; the limit is ${maxBytes} bytes`);
  }
}

/** A command produced more events than one DynamoDB transaction can hold. */
export class TooManyEventsError extends StoreError {
  override readonly name = 'TooManyEventsError';
  constructor(
    readonly count: number,
    readonly max: number,
  ) {
    super(`one command may append at most ${max} events atomically (TransactWriteItems limit); got ${count}`);
  }
}

/**
 * A core append did not answer within its timeout and was aborted: it may still commit on the server, so
 * its outcome is unknown (the client gets a retryable 503; an idempotency key makes the retry safe).
 */
export class AppendTimeoutError extends StoreError {
  override readonly name = 'AppendTimeoutError';
  constructor(
    readonly aggregateId: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(
      `the append to ${aggregateId} did not answer within ${timeoutMs} ms: its outcome is unknown`,
      options,
    );
  }
}

/** A guard condition attached to an append (for example the partition's epoch) did not hold. */
export class GuardFailedError extends StoreError {
  override readonly name = 'GuardFailedError';
}

/**
 * A projection row was no longer at the version the writer read (another writer won the race). `current`
 * is the row the refused write found stored, when the store returned it: a retry can start from it.
 */
export class StateVersionConflictError extends StoreError {
  override readonly name = 'StateVersionConflictError';
  constructor(
    readonly aggregateId: string,
    readonly expectedVersion: number,
    options?: ErrorOptions & { current?: StateRecord | undefined },
  ) {
    super(`projection row of ${aggregateId} moved past version ${expectedVersion}`, options);
    // Not enumerable: an error logged with its properties does not carry the aggregate's state.
    Object.defineProperty(this, 'current', { value: options?.current, enumerable: false });
  }

  declare readonly current: StateRecord | undefined;
}

/** A core append on a store built without the table of its core markers (`coreMarkerTableName`). */
export class CoreMarkersNotConfiguredError extends StoreError {
  override readonly name = 'CoreMarkersNotConfiguredError';
  constructor(readonly aggregateId: string) {
    super(
      `core append to ${aggregateId} refused: this EventStore has no coreMarkerTableName (the region's replication table)`,
    );
  }
}

/**
 * An append of an archived stub (an event read from a log whose payload moved to the archive): copying it
 * would put an event without its payload into another log. The event must come from a log or an archive
 * that holds it whole.
 */
export class ArchivedStubAppendError extends StoreError {
  override readonly name = 'ArchivedStubAppendError';
  constructor(
    readonly aggregateId: string,
    readonly eventId: string,
  ) {
    super(
      `append to ${aggregateId} refused: event ${eventId} is an archived stub (its payload is in the archive); deliver it from a log or an archive that holds it whole`,
    );
  }
}
