import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

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
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const method = request.method ?? 'GET';
  const routeKey = url.pathname === '/health' ? 'GET /health' : `${method} /v1/{proxy+}`;
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
    },
    pathParameters: url.pathname.startsWith('/v1/') ? { proxy: url.pathname.slice(4) } : {},
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

/** Serves an API Gateway v2 Lambda handler on a loopback port, the way API Gateway would invoke it. */
export async function serveApi(options: {
  handler: ApiHandler;
  region: string;
  port?: number;
  host?: string;
}): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    try {
      const event = toApiGatewayEvent(request, await readBody(request), options.region);
      const result = (await options.handler(
        event,
        lambdaContext(options.region),
      )) as APIGatewayProxyStructuredResultV2;
      response.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      response.end(result.body ?? '');
    } catch (error) {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'HandlerFailed', message: (error as Error).message }));
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, url: `http://${host}:${port}` };
}
