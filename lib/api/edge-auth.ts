import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { UnauthenticatedError } from '../auth/errors.ts';
import type { InternalKey } from '../auth/internal-key.ts';
import { verifyPeerToken } from '../auth/peer-token.ts';
import { INTERNAL_PATH_PREFIX } from '../routing/authenticated-transport.ts';
import { headerValue, ROUTING_HEADERS } from '../routing/headers.ts';
import { HttpError } from './http-error.ts';

/** How clients authenticate at the gateway: API Gateway's JWT authorizer or IAM (SigV4). */
export type CallerAuth = 'jwt' | 'iam';

/** Authentication of the API (topology `api.auth` and the environment's internal key). */
export interface ApiAuth {
  /**
   * The authorizer API Gateway runs on `/v1/{proxy+}`. The handler refuses a public request whose event
   * carries no identity from it (a route deployed without its authorizer fails closed).
   */
  readonly caller: CallerAuth;
  /** Peer requests on `/internal/...`; without it the internal routes answer 404. */
  readonly peers?: {
    readonly key: InternalKey;
    readonly env: string;
    readonly region: string;
    readonly peers: readonly string[];
  };
}

/** Routes that need no credentials: Route 53's checkers cannot sign their probes. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/health']);

type Event = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: unknown }; iam?: { userArn?: unknown; accessKey?: unknown } };
  };
};

/** Every request header except the `X-Multiactive-*` ones, which only a verified peer may set. */
function withoutRoutingHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && !name.toLowerCase().startsWith('x-multiactive-')) kept[name] = value;
  }
  return kept;
}

function callerIdentified(event: Event, caller: CallerAuth): boolean {
  const authorizer = event.requestContext.authorizer;
  if (caller === 'jwt') return typeof authorizer?.jwt?.claims === 'object' && authorizer.jwt.claims !== null;
  return typeof authorizer?.iam?.userArn === 'string' || typeof authorizer?.iam?.accessKey === 'string';
}

function bearer(event: APIGatewayProxyEventV2): string | undefined {
  const value = headerValue(event.headers, 'authorization');
  return value?.replace(/^Bearer\s+/i, '') || undefined;
}

/** A peer request: verified, then served as the public route it wraps, with the peer's routing headers. */
async function admitPeer(event: Event, peers: NonNullable<ApiAuth['peers']>): Promise<void> {
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const path = event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath;
  const peer = await verifyPeerToken({
    token: bearer(event),
    key: await peers.key(),
    env: peers.env,
    region: peers.region,
    peers: peers.peers,
    request: { method: event.requestContext.http.method, path, body },
  });
  const strip = (p: string) => p.slice(INTERNAL_PATH_PREFIX.length);
  event.rawPath = strip(event.rawPath);
  event.requestContext.http.path = strip(event.requestContext.http.path);
  event.headers = {
    ...event.headers,
    [ROUTING_HEADERS.forwardedBy.toLowerCase()]: peer.from,
    [ROUTING_HEADERS.requestId.toLowerCase()]: peer.requestId,
  };
}

/**
 * The API's edge: drops every client-supplied `X-Multiactive-*` header (a client must not pose as a
 * forwarding peer, nor pick the idempotency key of someone else's forwarded write), admits `/internal/...`
 * only with a valid peer token, and refuses public requests that API Gateway's authorizer did not
 * identify. Failures are 401 `Unauthenticated` (the usual JSON error), before anything runs.
 */
export function edgeAuthentication(
  auth: ApiAuth,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const edgeAuthenticationBefore = async (
    request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>,
  ) => {
    const event = request.event as Event;
    event.headers = withoutRoutingHeaders(event.headers);
    const path = event.requestContext.http.path;
    if (OPEN_PATHS.has(path)) return;
    if (path === INTERNAL_PATH_PREFIX || path.startsWith(`${INTERNAL_PATH_PREFIX}/`)) {
      if (!auth.peers) throw new HttpError(404, 'RouteNotFound', `no route for ${path}`);
      await admitPeer(event, auth.peers);
      return;
    }
    if (!callerIdentified(event, auth.caller)) {
      throw new UnauthenticatedError(`no ${auth.caller === 'jwt' ? 'JWT' : 'IAM'} caller identity`);
    }
  };
  return { before: edgeAuthenticationBefore };
}
