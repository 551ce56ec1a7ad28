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

/**
 * `core.ack: 'quorum'`: no peer region stored a copy of a core write in time, so it was not appended
 * locally either (503 + Retry-After). A peer may still hold the copy: see `quorumReplicator`.
 */
export class QuorumAckError extends Error {
  override readonly name = 'QuorumAckError';
  constructor(
    readonly aggregateId: string,
    readonly peersTried: readonly string[],
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(
      `no peer region acknowledged the write to ${aggregateId} (tried ${peersTried.join(', ') || 'none'})`,
      options,
    );
  }
}
