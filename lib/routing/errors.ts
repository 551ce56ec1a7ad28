/** Base class of routing errors. */
export class RoutingError extends Error {
  override readonly name: string = 'RoutingError';
}

/** Why a peer call did not produce an answer. */
export type PeerFailure = 'circuit-open' | 'timeout' | 'unreachable' | 'no-endpoint';

/** A peer region could not be reached (breaker open, timeout, network): the client should retry later. */
export class PeerUnavailableError extends RoutingError {
  override readonly name = 'PeerUnavailableError';
  constructor(
    readonly peer: string,
    readonly reason: PeerFailure,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(`peer region ${peer} is unavailable (${reason})`, options);
  }
}

/**
 * A read with a consistency token could be served neither locally nor from the origin region: the origin
 * is unreachable, or (core) it does not hold the write either (lost with a failover: see the manual
 * conflict queue).
 */
export class ConsistencyUnavailableError extends RoutingError {
  override readonly name = 'ConsistencyUnavailableError';
  constructor(
    readonly origin: string,
    readonly token: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions & { readonly reason?: 'origin-unreachable' | 'not-held' },
  ) {
    super(
      options?.reason === 'not-held'
        ? `the write ${token} is held neither here nor by its origin ${origin} (a failover may have lost it; see the conflict queue)`
        : `the write ${token} has not reached this region yet and its origin ${origin} is unreachable; retry later`,
      options,
    );
  }
}

/** The X-Consistency-Token header is not a token this API issued (for this aggregate). */
export class InvalidConsistencyTokenError extends RoutingError {
  override readonly name = 'InvalidConsistencyTokenError';
  constructor(
    readonly token: string,
    why = 'expected the value of an X-Consistency-Token response header',
  ) {
    super(`"${token}" is not a consistency token for this read (${why})`);
  }
}
