import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import middy from '@middy/core';
import httpRouter from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type CommandDeps, confirmHomeHere, readRecord } from '../commands/execute.ts';
import type { ConflictRecord, ConflictRecordPort } from '../conflict/record-store.ts';
import type { RegionBreakers } from '../resilience/health.ts';
import { headerValue, ROUTING_HEADERS } from '../routing/headers.ts';
import { createCommandRunner } from './commands.ts';
import { type ApiAuth, edgeAuthentication } from './edge-auth.ts';
import type { RegionHealthMonitor } from './health.ts';
import { healthRoute } from './health-route.ts';
import { HttpError } from './http-error.ts';
import { httpErrors, responseHeaders } from './middleware.ts';
import { aggregateTarget, type CommandBody, parseCommandBody } from './request.ts';
import { jsonResponse } from './responses.ts';
import { type ApiRouting, routeRead, routeWrite } from './routing.ts';
import { type SagaApiDeps, sagaRoutes } from './sagas.ts';

/** Headers of the API: every answer carries `region`; writes return `token`, reads may send it. */
export const HEADERS = ROUTING_HEADERS;

export interface HealthReport {
  readonly healthy: boolean;
  readonly [key: string]: unknown;
}

export interface ApiDeps extends CommandDeps {
  /** Powertools persistence for idempotency keys; without it keys are ignored. */
  readonly idempotency?: BasePersistenceLayer;
  /** Extra health facts for `/health` (ANDed into `healthy`, e.g. a local drain override). */
  readonly health?: () => Promise<HealthReport>;
  /**
   * The store probe and traffic state behind `/health`, answered within a bounded time; without it only
   * the traffic breaker's state counts (no gray-failure detection).
   */
  readonly healthMonitor?: RegionHealthMonitor;
  /** `GET /v1/replication/status`; 404 until replication is wired. */
  readonly replicationStatus?: () => Promise<unknown>;
  /** This region's conflict records, for `GET /v1/{type}/{id}/conflicts`; 404 without them. */
  readonly conflicts?: Pick<ConflictRecordPort, 'listForAggregate'>;
  /** Multi-region routing: forwarding/redirect of writes, read-your-writes. Without it everything is local. */
  readonly routing?: ApiRouting;
  /** Circuit breakers shown on /health and the replication status; a drained region answers 503 on /health. */
  readonly breakers?: RegionBreakers;
  /** Sagas served at `POST /v1/<route>` and `GET /v1/<route>/{id}` (e.g. transfers); none without it. */
  readonly sagas?: SagaApiDeps;
  readonly logError?: (error: unknown) => void;
  /**
   * Authentication at the edge (callers identified by API Gateway's authorizer, peers by their token on
   * `/internal/...`). Without it the handler trusts its event as is (unit tests of the routes).
   */
  readonly auth?: ApiAuth;
}

type Route = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

function routes(deps: ApiDeps): Array<{ method: 'GET' | 'POST'; path: string; handler: Route }> {
  const runCommand = createCommandRunner(deps, deps.idempotency);
  const postCommand: Route = async (event, context) => {
    const target = aggregateTarget(event);
    const aggregate = deps.registry.get(target.aggregateType); // unknown type: 404 before the body is parsed
    const body = withForwardedKey(parseCommandBody(event), event);
    // A saga's step forwarded to the aggregate's home by the region coordinating the saga: only a peer
    // (admitted with its token at the edge, which alone sets forwarded-by) may name a saga.
    const sagaId = body.saga;
    if (sagaId !== undefined && !headerValue(event.headers, ROUTING_HEADERS.forwardedBy)) {
      throw new HttpError(403, 'InternalCommand', 'only a saga coordinator in a peer region names a saga', {
        details: { aggregateType: aggregate.name, command: body.type },
      });
    }
    if (aggregate.internalCommands?.includes(body.type) && !sagaId) {
      throw new HttpError(403, 'InternalCommand', `${body.type} is sent by sagas only, not by clients`, {
        details: { aggregateType: aggregate.name, command: body.type },
      });
    }
    const runLocal = async () => {
      const response = await runCommand(target, body, context, { sagaId });
      return jsonResponse(200, response, response.token ? { [HEADERS.token]: response.token } : {});
    };
    if (!deps.routing) return runLocal();
    return routeWrite(deps.routing, {
      tier: aggregate.tier,
      aggregateId: target.aggregateId,
      event,
      runLocal,
    });
  };
  const getAggregate: Route = async (event) => {
    const { aggregateType, aggregateId } = aggregateTarget(event);
    const aggregate = deps.registry.get(aggregateType);
    // A peer's read to decide on (a saga's dry run, RoutedCommandPort.read): served only by the writable
    // home, as a refusal is (421 when this region's own copy of the entry no longer names it).
    const homeRead =
      aggregate.tier === 'core' &&
      headerValue(event.headers, ROUTING_HEADERS.homeRead) !== undefined &&
      headerValue(event.headers, ROUTING_HEADERS.forwardedBy) !== undefined;
    const readLocal = async () => {
      if (homeRead) await confirmHomeHere(deps, aggregateId);
      const record = await readRecord(deps, aggregate, aggregateId);
      if (!record) throw new HttpError(404, 'NotFound', `${aggregateType} ${aggregateId} does not exist`);
      return jsonResponse(200, {
        aggregateType,
        aggregateId,
        state: JSON.parse(record.state),
        version: record.version,
        head: record.head,
        frozen: record.frozen,
      });
    };
    if (!deps.routing) return readLocal();
    const target = { aggregateType, aggregateId, tier: aggregate.tier };
    return routeRead(deps.routing, { target, event, readLocal });
  };
  const listConflicts: Route = async (event) => {
    const { aggregateType, aggregateId } = aggregateTarget(event);
    deps.registry.get(aggregateType);
    if (!deps.conflicts) throw new HttpError(404, 'NotFound', 'conflict records are not available');
    const records = await deps.conflicts.listForAggregate(aggregateType, aggregateId);
    return jsonResponse(200, { aggregateType, aggregateId, conflicts: conflictFeed(records) });
  };
  const health = healthRoute(deps);
  const replicationStatus: Route = async () => {
    const sync = deps.breakers?.sync;
    if (!deps.replicationStatus && !sync) {
      throw new HttpError(404, 'NotFound', 'replication status is not available');
    }
    const status = deps.replicationStatus ? await deps.replicationStatus() : {};
    if (!sync) return jsonResponse(200, status);
    const peers = await sync.refresh();
    const degradedPeers = Object.keys(peers).filter((peer) => peers[peer]!.state === 'open');
    return jsonResponse(200, { ...(status as object), degrade: { peers, degradedPeers } });
  };
  return [
    ...(deps.sagas ? sagaRoutes({ commands: deps, routing: deps.routing }, deps.sagas) : []),
    { method: 'GET', path: '/health', handler: health },
    { method: 'GET', path: '/v1/replication/status', handler: replicationStatus },
    { method: 'POST', path: '/v1/{aggregateType}/{id}/commands', handler: postCommand },
    { method: 'GET', path: '/v1/{aggregateType}/{id}', handler: getAggregate },
    { method: 'GET', path: '/v1/{aggregateType}/{id}/conflicts', handler: listConflicts },
  ];
}

/**
 * An aggregate's conflict records as the API lists them: open ones first (manual, awaiting an operator),
 * then resolved ones (manual resolutions, and lww pairs settled automatically and kept for audit), each
 * saying which policy settled it; oldest first within each group.
 */
function conflictFeed(records: readonly ConflictRecord[]) {
  return records
    .map((r) => ({ ...r, policy: r.policy ?? 'manual' }))
    .sort(
      (a, b) =>
        Number(a.status !== 'open') - Number(b.status !== 'open') ||
        a.detectedAt.localeCompare(b.detectedAt) ||
        a.eventIds.join('#').localeCompare(b.eventIds.join('#')),
    );
}

/**
 * A write forwarded by a peer carries the forwarder's request id: without a key of the client's own, it is
 * the command's idempotency key, so a forwarded request delivered twice runs once.
 */
function withForwardedKey(body: CommandBody, event: APIGatewayProxyEventV2): CommandBody {
  if (body.idempotencyKey) return body;
  if (!headerValue(event.headers, ROUTING_HEADERS.forwardedBy)) return body;
  const requestId = headerValue(event.headers, ROUTING_HEADERS.requestId);
  return requestId ? { ...body, idempotencyKey: `forwarded:${requestId}` } : body;
}

/**
 * The regional HTTP API (API Gateway HTTP API v2 events) as a middy handler.
 * @example export const handler = createApiHandler(depsFromEnvironment());
 */
export function createApiHandler(deps: ApiDeps) {
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(responseHeaders({ [HEADERS.region]: deps.region }))
    .use(
      httpErrors({
        headers: { [HEADERS.region]: deps.region },
        ...(deps.logError ? { logError: deps.logError } : {}),
      }),
    );
  if (deps.auth) handler.use(edgeAuthentication(deps.auth));
  return handler.handler(
    httpRouter({
      routes: routes(deps),
      notFoundResponse: ({ method, path }: { method: string; path: string }) => {
        throw new HttpError(404, 'RouteNotFound', `no route for ${method} ${path}`);
      },
    }) as unknown as Route,
  );
}
