/** Base class of circuit-breaker errors. */
export class ResilienceError extends Error {
  override readonly name: string = 'ResilienceError';
}

/** The service breaker for a peer is open: calls fail fast until it half-opens after `retryAfterMs`. */
export class CircuitOpenError extends ResilienceError {
  override readonly name = 'CircuitOpenError';
  constructor(
    readonly peer: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(`circuit to ${peer} is open; retry in ${retryAfterMs} ms`, options);
  }
}

/** A call to a peer took longer than its timeout. */
export class PeerTimeoutError extends ResilienceError {
  override readonly name = 'PeerTimeoutError';
  constructor(
    readonly peer: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`call to ${peer} timed out after ${timeoutMs} ms`, options);
  }
}
