import { describe, expect, it } from 'vitest';
import {
  ApiGatewayEdge,
  type ApiSpec,
  matchRoute,
  TokenBucket,
} from '../../../lib/sandbox/apigateway/index.ts';
import { LocalIssuer, type SandboxCredentials, signSigV4 } from '../../../lib/sandbox/auth/index.ts';
import { serveApi } from '../../../lib/sandbox/http-server.ts';

const JWT = { issuer: 'https://auth.test.example.com/', audience: ['multiactive-test-api'] };
const spec = (authorization: 'JWT' | 'AWS_IAM', burstLimit = 3): ApiSpec => ({
  apiId: 'api',
  routes: [
    {
      routeKey: 'ANY /v1/{proxy+}',
      method: 'ANY',
      path: '/v1/{proxy+}',
      authorization,
      ...(authorization === 'JWT' ? { jwt: JWT } : {}),
      functionName: 'multiactive-test-api',
      throttle: { rateLimit: 1, burstLimit },
    },
    {
      routeKey: 'GET /health',
      method: 'GET',
      path: '/health',
      authorization: 'NONE',
      functionName: 'multiactive-test-health',
      throttle: { rateLimit: 1, burstLimit: 2 },
    },
  ],
});
const request = (path: string, headers: Record<string, string> = {}, method = 'GET') => ({
  method,
  host: '127.0.0.1:4001',
  path,
  query: {},
  headers: { host: '127.0.0.1:4001', ...headers },
  body: '',
});

describe("the sandbox's API Gateway", () => {
  it('selects routes as HTTP APIs do: static before greedy, a greedy path needs a segment', () => {
    const s = spec('JWT');
    expect(matchRoute(s, 'GET', '/health')?.route.routeKey).toBe('GET /health');
    expect(matchRoute(s, 'POST', '/health')).toBeUndefined();
    expect(matchRoute(s, 'POST', '/v1/account/a/commands')?.pathParameters).toEqual({
      proxy: 'account/a/commands',
    });
    expect(matchRoute(s, 'GET', '/v1')).toBeUndefined();
    expect(matchRoute(s, 'GET', '/v2/x')).toBeUndefined();
  });

  it('throttles each route with its own bucket: a flood on /v1 leaves /health its budget', async () => {
    const issuer = await LocalIssuer.create(JWT);
    const edge = new ApiGatewayEdge({ spec: spec('JWT'), region: 'us-east-1', issuer });
    const auth = { authorization: `Bearer ${await issuer.token('flood')}` };
    const flood = [];
    for (let i = 0; i < 10; i++) flood.push((await edge.admit(request('/v1/account/a', auth))).kind);
    expect(flood.filter((k) => k === 'invoke')).toHaveLength(3);
    expect(await edge.admit(request('/v1/account/a', auth))).toMatchObject({ status: 429 });
    expect((await edge.admit(request('/health'))).kind).toBe('invoke');
    expect((await edge.admit(request('/health'))).kind).toBe('invoke');
  });

  it("verifies JWTs against the authorizer's issuer and audience, and passes the claims on", async () => {
    const issuer = await LocalIssuer.create(JWT);
    const stranger = await LocalIssuer.create(JWT);
    const other = await LocalIssuer.create({ ...JWT, issuer: 'https://evil.example.com/' });
    const edge = new ApiGatewayEdge({ spec: spec('JWT', 100), region: 'us-east-1', issuer });
    const admit = async (token?: string) =>
      edge.admit(request('/v1/account/a', token ? { authorization: `Bearer ${token}` } : {}));
    expect(await admit()).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });
    expect(await admit('not-a-jwt')).toMatchObject({ status: 401 });
    expect(await admit(await stranger.token('x'))).toMatchObject({ status: 401 });
    expect(await admit(await other.token('x'))).toMatchObject({ status: 401 });
    expect(await admit(await issuer.token('x', { audience: 'another-api' }))).toMatchObject({ status: 401 });
    expect(await admit(await issuer.token('x', { ttlSeconds: -120 }))).toMatchObject({ status: 401 });
    const ok = await admit(await issuer.token('alice'));
    expect(ok).toMatchObject({ kind: 'invoke', authorizer: { jwt: { claims: { sub: 'alice' } } } });
  });

  it('verifies SigV4 for the region that serves the request, over the signed headers and body', async () => {
    const credentials: SandboxCredentials = {
      accessKeyId: 'AKIASANDBOXTEST',
      secretAccessKey: 'secret-of-the-test',
      principalArn: 'arn:aws:iam::111111111111:role/client',
      accountId: '111111111111',
    };
    const edge = new ApiGatewayEdge({
      spec: spec('AWS_IAM', 100),
      region: 'eu-west-1',
      credentials: (id) => (id === credentials.accessKeyId ? credentials : undefined),
    });
    const body = '{"type":"Deposit","payload":{"amount":1}}';
    const base = {
      ...request('/v1/account/a/commands', { 'content-type': 'application/json' }, 'POST'),
      body,
    };
    const signed = async (region: string, creds = credentials) => ({
      ...base,
      headers: { ...base.headers, ...(await signSigV4(base, creds, region)) },
    });
    expect(await edge.admit(base)).toMatchObject({
      status: 403,
      body: { message: 'Missing Authentication Token' },
    });
    expect(await edge.admit(await signed('us-east-1'))).toMatchObject({
      status: 403,
      body: { message: "Credential should be scoped to correct region 'eu-west-1'" },
    });
    expect(
      await edge.admit(await signed('eu-west-1', { ...credentials, secretAccessKey: 'guess' })),
    ).toMatchObject({
      status: 403,
    });
    expect(
      await edge.admit({ ...(await signed('eu-west-1')), body: body.replace('1}', '9}') }),
    ).toMatchObject({
      status: 403,
    });
    expect(await edge.admit(await signed('eu-west-1'))).toMatchObject({
      kind: 'invoke',
      authorizer: { iam: { userArn: credentials.principalArn } },
    });
  });

  it('refills a bucket at its rate, up to its burst', () => {
    let now = 0;
    const bucket = new TokenBucket({ rateLimit: 2, burstLimit: 2 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
    now += 500;
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    now += 10_000;
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});

describe("the sandbox's API Gateway invoking a route's function", () => {
  it('answers 500 Internal Server Error without running the function when it may not invoke it', async () => {
    const invoked: string[] = [];
    const seen: string[] = [];
    const { server, url } = await serveApi({
      edge: new ApiGatewayEdge({ spec: spec('JWT'), region: 'us-east-1' }),
      region: 'us-east-1',
      invoke: (name) => async () => {
        invoked.push(name);
        return { statusCode: 200, headers: {}, body: '{}' };
      },
      authorizeInvoke: async (route, method) => {
        seen.push(`${method} ${route.path}`);
        if (route.functionName === 'multiactive-test-health')
          throw Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
      },
    });
    try {
      const response = await fetch(`${url}/health`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ message: 'Internal Server Error' });
      expect(seen).toEqual(['GET /health']);
      expect(invoked).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
