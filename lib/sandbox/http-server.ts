import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { ApiGatewayEdge } from './apigateway/edge.ts';
import type { ApiRouteSpec } from './apigateway/spec.ts';

type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** What API Gateway decided for the request: the route it matched and what its authorizer found. */
export interface RouteContext {
  readonly routeKey: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly authorizer?: Readonly<Record<string, unknown>>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Translates a node HTTP request into a genuine API Gateway HTTP API v2 event. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: string,
  region: string,
  route: RouteContext,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const method = request.method ?? 'GET';
  const { routeKey } = route;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.fromEntries(url.searchParams),
    requestContext: {
      accountId: '000000000000',
      apiId: `sandbox-${region}`,
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'sandbox',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: `${now.getTime().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(route.authorizer ? { authorizer: route.authorizer } : {}),
    },
    pathParameters: { ...route.pathParameters },
    ...(body ? { body } : {}),
    isBase64Encoded: false,
  };
}

function lambdaContext(region: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `multiactive-sandbox-${region}-api`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:multiactive-sandbox-api`,
    memoryLimitInMB: '1024',
    awsRequestId: Math.random().toString(36).slice(2),
    logGroupName: '/aws/lambda/multiactive-sandbox-api',
    logStreamName: 'sandbox',
    getRemainingTimeInMillis: () => 29_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export interface ServeApiOptions {
  /** The region's API Gateway: route selection, throttles and authorizers from the synthesized stack. */
  readonly edge: ApiGatewayEdge;
  /** Invokes the function a route integrates with, by name. */
  readonly invoke: (functionName: string) => ApiHandler;
  /**
   * Authorizes API Gateway's invocation of the route's function (its resource policy); a refusal is
   * answered as AWS answers an integration it may not invoke: 500.
   */
  readonly authorizeInvoke?: (route: ApiRouteSpec, method: string, bytes: number) => Promise<void>;
  readonly region: string;
  readonly port?: number;
  readonly host?: string;
  /** Sees every answer's status (the sandbox counts 5xx for the API's alarm). */
  readonly onStatus?: (status: number) => void;
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  response.writeHead(status, headers);
  response.end(body);
}

/**
 * Serves a region's HTTP API on a loopback port the way API Gateway would: the edge picks the route and
 * runs its throttle and authorizer, then the route's function gets a genuine HTTP API v2 event.
 */
export async function serveApi(options: ServeApiOptions): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      options.onStatus?.(status);
      send(response, status, headers, body);
    };
    try {
      const body = await readBody(request);
      const url = new URL(request.url ?? '/', 'http://localhost');
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const outcome = await options.edge.admit({
        method: request.method ?? 'GET',
        host: headers.host ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      });
      if (outcome.kind === 'answer') {
        answer(outcome.status, { 'content-type': 'application/json' }, JSON.stringify(outcome.body));
        return;
      }
      const event = toApiGatewayEvent(request, body, options.region, {
        routeKey: outcome.route.routeKey,
        pathParameters: outcome.pathParameters,
        ...(outcome.authorizer ? { authorizer: outcome.authorizer } : {}),
      });
      await options.authorizeInvoke?.(outcome.route, request.method ?? 'GET', Buffer.byteLength(body));
      const result = (await options.invoke(outcome.route.functionName)(
        event,
        lambdaContext(options.region),
      )) as APIGatewayProxyStructuredResultV2;
      answer(result.statusCode ?? 200, result.headers as Record<string, string>, result.body ?? '');
    } catch {
      // What API Gateway answers when the integration fails.
      answer(
        500,
        { 'content-type': 'application/json' },
        JSON.stringify({ message: 'Internal Server Error' }),
      );
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://${host}:${port}` };
}
