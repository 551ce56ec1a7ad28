import { CircuitOpenError, PeerTimeoutError } from '../resilience/errors.ts';
import type { ServiceBreakers } from '../resilience/service-breaker.ts';
import { PeerUnavailableError } from './errors.ts';
import type { PeerRequest, PeerResponse, PeerTransport } from './transport.ts';

export interface PeerClientOptions {
  readonly transport: PeerTransport;
  readonly breakers: ServiceBreakers;
  /** Per-call timeout (routing.forwardTimeoutMs). */
  readonly timeoutMs: number;
  /** Retry-After suggested after a timeout or network failure (default 1 s). */
  readonly retryAfterMs?: number;
}

/** Server errors that say the peer is sick; a 503 is a deliberate answer (fenced, draining) and does not count. */
const SICK = new Set([500, 502, 504]);

/**
 * Every cross-region call goes through here: the peer's service breaker, a timeout, and one error type
 * (PeerUnavailableError) for "could not get an answer".
 * @example const response = await peers.send('eu-west-1', { method: 'GET', path: '/v1/account/a1', headers: {} });
 */
export class PeerClient {
  constructor(private readonly options: PeerClientOptions) {}

  /** Sends a request to a peer; the peer's answer (any status) or PeerUnavailableError. */
  async send(peer: string, request: PeerRequest): Promise<PeerResponse> {
    const breaker = this.options.breakers.for(peer);
    const retryAfterMs = this.options.retryAfterMs ?? 1_000;
    try {
      return await breaker.execute((signal) => this.options.transport.send(peer, request, signal), {
        timeoutMs: this.options.timeoutMs,
        isFailure: (response) => SICK.has(response.status),
      });
    } catch (error) {
      if (error instanceof CircuitOpenError) {
        throw new PeerUnavailableError(peer, 'circuit-open', Math.max(error.retryAfterMs, 1), {
          cause: error,
        });
      }
      const reason = error instanceof PeerTimeoutError ? 'timeout' : 'unreachable';
      throw new PeerUnavailableError(peer, reason, retryAfterMs, { cause: error });
    }
  }

  /** The service breakers (for /health). */
  get breakers(): ServiceBreakers {
    return this.options.breakers;
  }
}
