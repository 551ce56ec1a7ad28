import { DomainError } from '../model/errors.ts';

/** The same idempotency key came back with another body: the saga it names was begun with other input. */
export class IdempotencyKeyReusedError extends DomainError {
  override readonly name = 'IdempotencyKeyReusedError';
  /** `subject`: the saga (`transfer tr-...`) the key already names. */
  constructor(subject: string) {
    super(
      'IdempotencyKeyReused',
      `the idempotency key already names ${subject}, begun with a different body; use a new key for a new request`,
      { subject },
    );
  }
}

/** A step command for a saga that has not begun (no SagaBegun in its log). */
export class SagaNotStartedError extends DomainError {
  override readonly name = 'SagaNotStartedError';
  constructor() {
    super('SagaNotStarted', 'the saga has not begun');
  }
}

/** Decide was asked before every Try was recorded, without a reason to cancel and before the expiry. */
export class SagaNotReadyError extends DomainError {
  override readonly name = 'SagaNotReadyError';
  constructor(missing: readonly string[]) {
    super('SagaNotReady', `participants not tried yet: ${missing.join(', ')}`, { missing });
  }
}

/** A confirm step recorded on a saga decided to cancel, or the reverse: a coordinator bug, refused. */
export class SagaPhaseMismatchError extends DomainError {
  override readonly name = 'SagaPhaseMismatchError';
  constructor(status: string, phase: string) {
    super('SagaPhaseMismatch', `cannot record a ${phase} step while the saga is ${status}`, {
      status,
      phase,
    });
  }
}

/**
 * A participant refused what the saga asked before it began (the API's dry run of the Try, or of the
 * Confirm for a participant without Try, against the participant's current state): nothing was written.
 */
export class SagaRefusedError extends DomainError {
  override readonly name = 'SagaRefusedError';
  constructor(input: {
    participant: string;
    aggregateId: string;
    code: string;
    message: string;
    details: Readonly<Record<string, unknown>>;
  }) {
    super(input.code, `${input.participant} ${input.aggregateId}: ${input.message}`, {
      ...input.details,
      participant: input.participant,
      aggregateId: input.aggregateId,
    });
  }
}

/** Base class of the coordinator's own failures (the state machine retries, then the sweep resumes). */
export class SagaError extends Error {
  override readonly name: string = 'SagaError';
}

/** A task for a saga id with no saga: nothing to run. */
export class SagaNotFoundError extends SagaError {
  override readonly name = 'SagaNotFound';
  constructor(
    readonly saga: string,
    readonly sagaId: string,
  ) {
    super(`no ${saga} ${sagaId}`);
  }
}

/** A Confirm or Cancel was refused: the participant broke the TCC contract (a bug to look at). */
export class SagaStepRefusedError extends SagaError {
  override readonly name = 'SagaStepRefused';
  constructor(
    readonly participant: string,
    readonly phase: string,
    readonly code: string,
    message: string,
  ) {
    super(`${phase} of ${participant} refused: ${code}: ${message}`);
  }
}

/** A participant's home answered a step with an error that retrying does not cure (4xx, not a refusal). */
export class SagaStepRejectedError extends SagaError {
  override readonly name = 'SagaStepRejected';
  constructor(
    readonly aggregateId: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(`step on ${aggregateId} rejected with ${status} ${code}`);
  }
}

/** A participant's home could not run a step now (5xx, fenced, no quorum): retried. */
export class SagaStepUnavailableError extends SagaError {
  override readonly name = 'SagaStepUnavailable';
  constructor(
    readonly aggregateId: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(`step on ${aggregateId} not run now: ${status} ${code}`);
  }
}
