import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

const sample = JSON.parse(
  readFileSync(new URL('../../events/samples/api-gateway-http-v2.json', import.meta.url), 'utf8'),
) as APIGatewayProxyEventV2;

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string | undefined;
  headers?: Record<string, string>;
  base64?: boolean;
  /** `requestContext.authorizer` as API Gateway's authorizer fills it (none by default). */
  authorizer?: Record<string, unknown>;
}

/** What API Gateway's JWT authorizer attaches for a client of the sandbox's issuer. */
export const JWT_CALLER = {
  jwt: { claims: { sub: 'test-client', iss: 'https://auth.dev.multiactive.example.com/' }, scopes: [] },
} as const;

/** An API Gateway HTTP API v2 event built from the recorded sample, for one request. */
export function httpEvent(request: HttpRequest): APIGatewayProxyEventV2 {
  const routeKey = request.path === '/health' ? 'GET /health' : `${request.method} /v1/{proxy+}`;
  const body =
    request.body === undefined
      ? undefined
      : request.base64
        ? Buffer.from(request.body).toString('base64')
        : request.body;
  return {
    ...sample,
    routeKey,
    rawPath: request.path,
    headers: { ...sample.headers, ...request.headers },
    requestContext: {
      ...sample.requestContext,
      routeKey,
      http: { ...sample.requestContext.http, method: request.method, path: request.path },
      ...(request.authorizer ? { authorizer: request.authorizer } : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    pathParameters: request.path.startsWith('/v1/') ? { proxy: request.path.slice('/v1/'.length) } : {},
    ...(body === undefined ? { body: undefined } : { body }),
    isBase64Encoded: request.base64 ?? false,
  };
}

/** A Lambda context good enough for handlers (Powertools reads the remaining time). */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'multiactive-test-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:multiactive-test-api',
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: '/aws/lambda/multiactive-test-api',
    logStreamName: '2026/11/24/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
