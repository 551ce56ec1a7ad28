import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Tier } from '../config/schema.ts';
import { NotHomeError, StaleEpochError } from '../ownership/errors.ts';
import type { RequestCounter } from '../ownership/hot-partitions.ts';
import { partitionOf } from '../ownership/partition.ts';
import { ConsistencyUnavailableError } from '../routing/errors.ts';
import { headerValue, ROUTING_HEADERS } from '../routing/headers.ts';
import type { ReadYourWrites } from '../routing/read-your-writes.ts';
import type { CommandRouter } from '../routing/router.ts';
import { parseConsistencyToken, tokenForTier } from '../routing/token.ts';
import type { PeerRequest, PeerResponse } from '../routing/transport.ts';

/** What the API needs for multi-region routing (all built by the handler or the sandbox). */
export interface ApiRouting {
  readonly router: CommandRouter;
  /** Without it, tokens on reads are ignored (reads are local). */
  readonly readYourWrites?: ReadYourWrites;
  /** Requests per partition, for the hot-partition report. */
  readonly requestCounter?: RequestCounter;
  readonly partitions: number;
}

type Result = APIGatewayProxyStructuredResultV2;

/**
 * Request headers that travel with a forwarded request. Not the client's credentials: the peer trusts
 * the forwarding region's own token (AuthenticatedPeerTransport), never a client's header.
 */
const FORWARDED_HEADERS = ['content-type', 'accept', ROUTING_HEADERS.token.toLowerCase()];
const CANONICAL = new Map(
  [...Object.values(ROUTING_HEADERS), 'Retry-After'].map((name) => [name.toLowerCase(), name]),
);

/** The API Gateway request as a transport-neutral peer request. */
export function peerRequest(event: APIGatewayProxyEventV2): PeerRequest {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = headerValue(event.headers, name);
    if (value !== undefined) headers[CANONICAL.get(name) ?? name] = value;
  }
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return {
    method: event.requestContext.http.method === 'GET' ? 'GET' : 'POST',
    path: event.rawQueryString ? `${event.rawPath}?${event.rawQueryString}` : event.rawPath,
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

/** A peer's answer as the Lambda result: status and body as they are, end-to-end headers only. */
export function toApiResult(response: PeerResponse): Result {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    const lower = name.toLowerCase();
    const keep = lower.startsWith('x-') || ['content-type', 'location', 'retry-after'].includes(lower);
    if (keep) headers[CANONICAL.get(lower) ?? lower] = value;
  }
  return { statusCode: response.status, headers, body: response.body };
}

/**
 * Runs a write where routing says: here (`runLocal`), or at the partition's home (forward / 307). When the
 * local attempt or the home says "not home" (a stale cached map), the cache is dropped and the write is
 * routed once more.
 */
export async function routeWrite(
  routing: ApiRouting,
  input: { tier: Tier; aggregateId: string; event: APIGatewayProxyEventV2; runLocal: () => Promise<Result> },
): Promise<Result> {
  const forwardedBy = headerValue(input.event.headers, ROUTING_HEADERS.forwardedBy);
  const target = { tier: input.tier, aggregateId: input.aggregateId, forwardedBy };
  let route = await routing.router.route(target);
  routing.requestCounter?.record(route.partition);
  for (let attempt = 1; ; attempt++) {
    // Whether the cached entry is wrong: a failed append guard (StaleEpoch) or the home's 421 say so. A
    // NotHome raised here comes from the entry the fencing hook has just used, which already names the
    // other home (often read a moment ago: a switchover's new home): routing again on it saves a majority
    // read. Were it stale, that home answers 421 (it fences every core write) and the client retries.
    let cacheWrong = true;
    if (route.action === 'local') {
      try {
        return await input.runLocal();
      } catch (error) {
        const misrouted = error instanceof NotHomeError || error instanceof StaleEpochError;
        if (!misrouted || forwardedBy || attempt > 1) throw error;
        cacheWrong = !(error instanceof NotHomeError);
      }
    } else {
      const response = toApiResult(await routing.router.dispatch(route, peerRequest(input.event)));
      if (response.statusCode !== 421 || attempt > 1) return response;
    }
    if (cacheWrong) routing.router.invalidate(route.partition);
    route = await routing.router.route(target);
  }
}

/**
 * Serves a read: locally without a token; with one, locally once the write it names has arrived (waiting
 * up to readYourWritesWaitMs), else from the token's origin (back-to-source), else 503 + Retry-After.
 */
export async function routeRead(
  routing: ApiRouting,
  input: {
    target: { aggregateType: string; aggregateId: string; tier: Tier };
    event: APIGatewayProxyEventV2;
    readLocal: () => Promise<Result>;
  },
): Promise<Result> {
  routing.requestCounter?.record(partitionOf(input.target.aggregateId, routing.partitions));
  const raw = headerValue(input.event.headers, ROUTING_HEADERS.token);
  const ryw = routing.readYourWrites;
  if (!raw || !ryw) return input.readLocal();
  const token = tokenForTier(parseConsistencyToken(raw), input.target.tier);
  // A back-to-source read is answered from what this region has: the origin has its own writes, except a
  // core write it lost at a failover (its log now follows the new home's branch).
  if (headerValue(input.event.headers, ROUTING_HEADERS.forwardedBy)) {
    if (await ryw.covers(input.target, token)) return input.readLocal();
    throw new ConsistencyUnavailableError(token.origin, token.issued, 1_000, { reason: 'not-held' });
  }
  if (await ryw.waitUntilCovered(input.target, token)) return input.readLocal();
  return toApiResult(await routing.router.readFromOrigin(token, peerRequest(input.event)));
}
