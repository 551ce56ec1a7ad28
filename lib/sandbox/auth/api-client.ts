import type { LocalIssuer } from './issuer.ts';
import { type SandboxCredentials, signSigV4 } from './sigv4.ts';

/** How the sandbox's clients authenticate: a JWT from the local issuer, or SigV4 with IAM credentials. */
export type ClientAuth =
  | { readonly type: 'jwt'; readonly issuer: LocalIssuer; readonly subject?: string }
  | { readonly type: 'iam'; readonly credentials: SandboxCredentials; readonly defaultRegion: string };

export interface ClientRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** False: a 307/308 is returned as it is (default: followed, with credentials for each hop). */
  readonly followRedirects?: boolean;
}

/** Region named by API Gateway's answer to a SigV4 request signed for another region. */
const WRONG_REGION = /scoped to correct region '([a-z0-9-]+)'/;
const MAX_HOPS = 4;

/**
 * The one place where the demo, chaos and bench clients get credentials: every request carries a JWT
 * from the local issuer (`Authorization: Bearer`) or a SigV4 signature for the region that serves it.
 * Redirects are followed by hand, because fetch drops `Authorization` on a cross-origin redirect and a
 * signature covers the host: each hop is authorized anew. With SigV4, an answer saying the request
 * should have been signed for another region (the shared name reached a region other than the one
 * guessed) is retried once, signed for that region.
 * @example const response = await sandbox.apiClient.fetch(`${frontDoor}/v1/account/a1/commands`, { method: 'POST', body });
 */
export class ApiClient {
  private cachedToken: { token: string; expiresAt: number } | undefined;

  constructor(
    readonly auth: ClientAuth,
    private readonly regionOf: (origin: string) => string | undefined = () => undefined,
  ) {}

  /** Sends the request with credentials, following 307/308 redirects. */
  async fetch(url: string, request: ClientRequest = {}): Promise<Response> {
    let target = new URL(url);
    let region = this.guessRegion(target, request.headers);
    let resigned = false;
    for (let hop = 0; ; hop++) {
      const headers = await this.authorize(target, request, region);
      const response = await fetch(target, {
        method: request.method ?? 'GET',
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.signal ? { signal: request.signal } : {}),
        redirect: 'manual',
      });
      const location = response.headers.get('location');
      const follow = request.followRedirects !== false && hop < MAX_HOPS;
      if ((response.status === 307 || response.status === 308) && location && follow) {
        await response.body?.cancel();
        target = new URL(location, target);
        region = response.headers.get('x-multiactive-region') ?? this.guessRegion(target, request.headers);
        continue;
      }
      if (this.auth.type !== 'iam' || response.status !== 403 || resigned) return response;
      const text = await response.text();
      const named = WRONG_REGION.exec(text)?.[1];
      if (!named) return new Response(text, { status: response.status, headers: response.headers });
      region = named;
      resigned = true;
    }
  }

  /** A bearer token for the client (JWT mode), renewed a minute before it expires. */
  async token(): Promise<string> {
    if (this.auth.type !== 'jwt') throw new Error('the sandbox API uses IAM (SigV4), not JWTs');
    const now = Date.now();
    if (!this.cachedToken || this.cachedToken.expiresAt - now < 60_000) {
      const token = await this.auth.issuer.token(this.auth.subject ?? 'sandbox-client', {
        ttlSeconds: 3_600,
      });
      this.cachedToken = { token, expiresAt: now + 3_600_000 };
    }
    return this.cachedToken.token;
  }

  private guessRegion(target: URL, headers: ClientRequest['headers']): string {
    const fromHeader = Object.entries(headers ?? {}).find(
      ([k]) => k.toLowerCase() === 'x-client-region',
    )?.[1];
    const fallback = this.auth.type === 'iam' ? this.auth.defaultRegion : '';
    return this.regionOf(target.origin) ?? fromHeader ?? fallback;
  }

  private async authorize(
    target: URL,
    request: ClientRequest,
    region: string,
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...request.headers };
    if (this.auth.type === 'jwt') {
      headers.authorization = `Bearer ${await this.token()}`;
      return headers;
    }
    const signed = await signSigV4(
      {
        method: request.method ?? 'GET',
        host: target.host,
        path: target.pathname,
        query: Object.fromEntries(target.searchParams),
        headers,
        body: request.body,
      },
      this.auth.credentials,
      region,
    );
    // fetch sets Host itself (the same value that was signed).
    const { host: _host, ...rest } = signed;
    return rest;
  }
}
