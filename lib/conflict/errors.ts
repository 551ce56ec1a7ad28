/** Base class of conflict detection and resolution errors. */
export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}

/** A resolution was requested for an aggregate that has a single head (nothing is concurrent). */
export class NothingToResolveError extends ConflictError {
  override readonly name = 'NothingToResolveError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(`${aggregateType} ${aggregateId} has no open conflict (a single head)`);
  }
}

/** The operator resolved a set of heads that is no longer the aggregate's set of heads. */
export class StaleResolutionError extends ConflictError {
  override readonly name = 'StaleResolutionError';
  constructor(
    readonly aggregateId: string,
    readonly expected: readonly string[],
    readonly actual: readonly string[],
  ) {
    super(
      `heads of ${aggregateId} changed: expected [${expected.join(', ')}], found [${actual.join(', ')}]; ` +
        'review the new events and resolve again',
    );
  }
}

/** Writing the resolution kept losing the race against concurrent writers. */
export class ResolutionContentionError extends ConflictError {
  override readonly name = 'ResolutionContentionError';
  constructor(
    readonly aggregateId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up resolving ${aggregateId} after ${attempts} attempts`, options);
  }
}
