import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import type { CommandDeps } from '../commands/execute.ts';
import { headerValue, ROUTING_HEADERS } from '../routing/headers.ts';
import {
  type AnySaga,
  beginSaga,
  FINISHED,
  type SagaBeginDeps,
  type SagaState,
  sagaHistory,
  sagaIdFor,
  sagaStateHere,
  waitForOutcome,
} from '../sagas/index.ts';
import { HttpError } from './http-error.ts';
import { parseJsonBody, pathParameter } from './request.ts';
import { jsonResponse } from './responses.ts';
import { type ApiRouting, routeRead, routeWrite, toApiResult } from './routing.ts';

/** What the saga routes need besides the API's own deps (built by the handler or the sandbox). */
export interface SagaApiDeps extends Omit<SagaBeginDeps, 'commands'> {
  readonly sagas: readonly AnySaga[];
  /** `?wait=true`: how long to wait for the outcome (topology `sagas.waitMs`). */
  readonly waitMs: number;
  /** Pause between two looks at an unfinished saga while waiting (default 25 ms here, 100 ms at a peer). */
  readonly pollMs?: number;
}

type Result = APIGatewayProxyStructuredResultV2;
type Route = (event: APIGatewayProxyEventV2, context: Context) => Promise<Result>;

const keySchema = z.strictObject({ idempotencyKey: z.string().min(1).max(128) });

function invalid(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, shape: string): HttpError {
  return new HttpError(400, 'InvalidRequest', `request body does not match ${shape}`, {
    details: { issues: issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
  });
}

/** The body split into the saga's input and the idempotency key; 400 with every issue otherwise. */
function sagaRequest(saga: AnySaga, body: unknown) {
  const shape = `the ${saga.name} request and { idempotencyKey }`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid([{ path: [], message: 'must be a JSON object' }], shape);
  }
  const { idempotencyKey, ...rest } = body as Record<string, unknown>;
  const key = keySchema.safeParse({ idempotencyKey });
  const input = saga.input.safeParse(rest);
  const issues = [...(key.success ? [] : key.error.issues), ...(input.success ? [] : input.error.issues)];
  if (!key.success || !input.success) throw invalid(issues, shape);
  return { input: input.data, idempotencyKey: key.data.idempotencyKey };
}

/**
 * `?wait=true` for a saga begun at another region (its home): asks the home until the saga has ended or
 * the deadline passed; the home's answer once ended, else undefined (the caller answers its 202).
 */
async function waitAtHome(
  routing: ApiRouting,
  input: { home: string; path: string; deadline: number; pollMs?: number },
): Promise<Result | undefined> {
  while (Date.now() < input.deadline) {
    await new Promise((resolve) => setTimeout(resolve, input.pollMs ?? 100));
    const answer = toApiResult(
      await routing.router.forward(input.home, { method: 'GET', path: input.path, headers: {} }),
    );
    const status = (JSON.parse(String(answer.body ?? '{}')) as { status?: string }).status;
    if (answer.statusCode === 200 && FINISHED.has(status as SagaState['status'])) return answer;
  }
  return undefined;
}

/** A saga as the API answers it: its id under the saga's own name, its input, status and steps. */
export function sagaView(saga: AnySaga, sagaId: string, state: SagaState): Record<string, unknown> {
  return {
    ...state.input,
    [saga.idField]: sagaId,
    type: saga.name,
    status: state.status,
    reason: state.reason,
    refused: state.refused,
    startedAt: state.startedAt,
    expiresAt: state.expiresAt,
    updatedAt: state.updatedAt,
    steps: { tried: state.tried, confirmed: state.confirmed, cancelled: state.cancelled },
  };
}

/**
 * `POST /v1/<route>` and `GET /v1/<route>/{id}` for every saga. A POST is a core write of the saga
 * aggregate: routed to the saga's home (forwarded or redirected like any core write), begun there, and
 * answered 202 (200 once ended, at once or within `?wait=true`'s wait).
 */
export function sagaRoutes(
  api: { commands: CommandDeps; routing?: ApiRouting | undefined },
  deps: SagaApiDeps,
): Array<{ method: 'GET' | 'POST'; path: string; handler: Route }> {
  const { commands, routing } = api;
  const begin = { ...deps, commands };
  return deps.sagas.flatMap((saga) => {
    const post: Route = async (event) => {
      const { input, idempotencyKey } = sagaRequest(saga, parseJsonBody(event));
      const sagaId = sagaIdFor(saga, input, idempotencyKey, commands.partitions);
      // A forwarded request never waits at the home: the forwarder would give up (forwardTimeoutMs)
      // before the outcome; the region the client called waits instead, asking the home.
      const forwarded = headerValue(event.headers, ROUTING_HEADERS.forwardedBy) !== undefined;
      const wait = event.queryStringParameters?.wait === 'true' && !forwarded;
      const deadline = Date.now() + deps.waitMs;
      const runLocal = async () => {
        const { state } = await beginSaga(begin, { saga, sagaId, input, idempotencyKey });
        const waitMs = Math.max(0, deadline - Date.now());
        const final =
          wait && !FINISHED.has(state.status)
            ? ((await waitForOutcome(commands, { saga, sagaId, waitMs, pollMs: deps.pollMs ?? 25 })) ?? state)
            : state;
        return jsonResponse(FINISHED.has(final.status) ? 200 : 202, sagaView(saga, sagaId, final), {
          location: `/v1/${saga.route}/${sagaId}`,
        });
      };
      if (!routing) return runLocal();
      const answer = await routeWrite(routing, { tier: 'core', aggregateId: sagaId, event, runLocal });
      const home = answer.headers?.[ROUTING_HEADERS.region];
      if (!wait || answer.statusCode !== 202 || typeof home !== 'string' || home === commands.region)
        return answer;
      return (await waitAtHome(routing, { home, path: `/v1/${saga.route}/${sagaId}`, deadline })) ?? answer;
    };
    const get: Route = async (event) => {
      const sagaId = pathParameter(event, 'id');
      const readLocal = async () => {
        const state = await sagaStateHere(commands, saga, sagaId);
        if (!state) throw new HttpError(404, 'NotFound', `${saga.name} ${sagaId} does not exist`);
        const history = await sagaHistory(commands.events, saga, sagaId, commands.archive);
        return jsonResponse(200, { ...sagaView(saga, sagaId, state), history });
      };
      if (!routing) return readLocal();
      const target = { aggregateType: saga.name, aggregateId: sagaId, tier: 'core' as const };
      return routeRead(routing, { target, event, readLocal });
    };
    return [
      { method: 'POST' as const, path: `/v1/${saga.route}`, handler: post },
      { method: 'GET' as const, path: `/v1/${saga.route}/{id}`, handler: get },
    ];
  });
}
