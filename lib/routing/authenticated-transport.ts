import { randomUUID } from 'node:crypto';
import type { InternalKey } from '../auth/internal-key.ts';
import { signPeerToken } from '../auth/peer-token.ts';
import { headerValue, ROUTING_HEADERS } from './headers.ts';
import type { PeerRequest, PeerResponse, PeerTransport } from './transport.ts';

/** Path prefix of the peer-only routes: `/internal/v1/...` serves what `/v1/...` serves, for peers. */
export const INTERNAL_PATH_PREFIX = '/internal';

export interface AuthenticatedPeerTransportOptions {
  readonly inner: PeerTransport;
  readonly key: InternalKey;
  readonly env: string;
  /** The sending region. */
  readonly region: string;
}

/**
 * Sends forwarded writes and back-to-source reads to a peer's internal route, authenticated: the request
 * carries a peer token (HS256 with the environment's internal key) naming this region, the target, the
 * request id and a hash of the exact request; the peer's API refuses anything else with 401. The
 * client's own credentials are not passed on, nor any `X-Multiactive-*` header: the token carries what
 * the peer may trust.
 * @example const transport = new AuthenticatedPeerTransport({ inner: new FetchPeerTransport({ endpoints }), key, env, region });
 */
export class AuthenticatedPeerTransport implements PeerTransport {
  constructor(private readonly options: AuthenticatedPeerTransportOptions) {}

  /** Signs and sends the request to `region`'s internal route. */
  async send(region: string, request: PeerRequest, signal?: AbortSignal): Promise<PeerResponse> {
    const path = `${INTERNAL_PATH_PREFIX}${request.path}`;
    const requestId = headerValue(request.headers, ROUTING_HEADERS.requestId) ?? randomUUID();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      const lower = name.toLowerCase();
      if (lower !== 'authorization' && !lower.startsWith('x-multiactive-')) headers[name] = value;
    }
    const token = await signPeerToken({
      key: await this.options.key(),
      env: this.options.env,
      from: this.options.region,
      to: region,
      requestId,
      request: { method: request.method, path, body: request.body },
    });
    headers.authorization = `Bearer ${token}`;
    return this.options.inner.send(region, { ...request, path, headers }, signal);
  }
}
