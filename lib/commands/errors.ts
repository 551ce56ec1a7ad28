/** The aggregate has an open manual conflict; writes wait until an operator resolves it. */
export class AggregateFrozenError extends Error {
  override readonly name = 'AggregateFrozenError';
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(`${aggregateType} ${aggregateId} has an open conflict; resolve it before writing`);
  }
}

/** Optimistic concurrency kept failing: too many writers on one aggregate at once. */
export class ContentionError extends Error {
  override readonly name = 'ContentionError';
  constructor(
    readonly aggregateId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up on ${aggregateId} after ${attempts} concurrent-append retries`, options);
  }
}
