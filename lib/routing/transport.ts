import { z } from 'zod';

/** A request to a peer region's API (transport-neutral). */
export interface PeerRequest {
  readonly method: 'GET' | 'POST';
  /** Path with query string, e.g. `/v1/account/a1/commands`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface PeerResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** How a region reaches a peer's API (port): fetch in AWS, in-process calls or WAN links in tests/sandbox. */
export interface PeerTransport {
  send(region: string, request: PeerRequest, signal?: AbortSignal): Promise<PeerResponse>;
}

const endpointsSchema = z.record(z.string().min(1), z.url());

/**
 * Parses REGION_ENDPOINTS (JSON: region -> base URL of that region's API).
 * @example parseRegionEndpoints('{"eu-west-1":"https://eu-west-1.multiactive.example.com"}')
 */
export function parseRegionEndpoints(json: string): Record<string, string> {
  return endpointsSchema.parse(JSON.parse(json));
}

/** Joins a region's base URL and a request path. */
export function endpointUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

export interface FetchPeerTransportOptions {
  readonly endpoints: Readonly<Record<string, string>>;
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * The production transport: HTTPS to the peer's regional API endpoint.
 * @example new FetchPeerTransport({ endpoints: parseRegionEndpoints(process.env.REGION_ENDPOINTS ?? '{}') })
 */
export class FetchPeerTransport implements PeerTransport {
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly options: FetchPeerTransportOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Sends the request and reads the whole body. */
  async send(region: string, request: PeerRequest, signal?: AbortSignal): Promise<PeerResponse> {
    const base = this.options.endpoints[region];
    if (!base) throw new Error(`no endpoint configured for region ${region}`);
    const response = await this.fetch(endpointUrl(base, request.path), {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(signal ? { signal } : {}),
      redirect: 'manual',
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { status: response.status, headers, body: await response.text() };
  }
}
