import type { LocalIssuer } from '../auth/issuer.ts';
import { type SandboxCredentials, verifySigV4 } from '../auth/sigv4.ts';
import { type ApiRouteSpec, type ApiSpec, matchRoute } from './spec.ts';
import { TokenBucket } from './throttle.ts';

/** A request as it reaches API Gateway. */
export interface EdgeRequest {
  readonly method: string;
  /** Host header (with port), as signed by SigV4 clients. */
  readonly host: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What API Gateway does with a request: answer it itself, or invoke the route's function. */
export type EdgeOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly body: { readonly message: string } }
  | {
      readonly kind: 'invoke';
      readonly route: ApiRouteSpec;
      readonly pathParameters: Readonly<Record<string, string>>;
      /** `requestContext.authorizer` as API Gateway fills it. */
      readonly authorizer?: Readonly<Record<string, unknown>>;
    };

export interface ApiGatewayEdgeOptions {
  readonly spec: ApiSpec;
  readonly region: string;
  /** The local issuer that signs client JWTs (JWT routes). */
  readonly issuer?: LocalIssuer;
  /** Known IAM access keys (IAM routes). */
  readonly credentials?: (accessKeyId: string) => SandboxCredentials | undefined;
}

const answer = (status: number, message: string): EdgeOutcome => ({
  kind: 'answer',
  status,
  body: { message },
});

/**
 * The sandbox's API Gateway for one region's HTTP API, from the synthesized routes: route selection
 * (404 `Not Found` when nothing matches), each route's throttle (429), then its authorizer: a JWT
 * verified against the authorizer's issuer and audience (401 `Unauthorized`), or a SigV4 signature
 * (403), before any function runs. Bodies are API Gateway's own (`{"message": ...}`).
 */
export class ApiGatewayEdge {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly options: ApiGatewayEdgeOptions) {}

  /** Decides what happens to a request. */
  async admit(request: EdgeRequest): Promise<EdgeOutcome> {
    const match = matchRoute(this.options.spec, request.method, request.path);
    if (!match) return answer(404, 'Not Found');
    const { route } = match;
    if (route.throttle) {
      let bucket = this.buckets.get(route.routeKey);
      if (!bucket) {
        bucket = new TokenBucket(route.throttle);
        this.buckets.set(route.routeKey, bucket);
      }
      if (!bucket.take()) return answer(429, 'Too Many Requests');
    }
    if (route.authorization === 'JWT') {
      const claims = await this.verifyJwt(route, request.headers);
      if (!claims) return answer(401, 'Unauthorized');
      return { kind: 'invoke', route, pathParameters: match.pathParameters, authorizer: { jwt: claims } };
    }
    if (route.authorization === 'AWS_IAM') {
      const caller = await verifySigV4(
        request,
        this.options.credentials ?? (() => undefined),
        this.options.region,
      );
      if ('status' in caller) return answer(caller.status, caller.message);
      const iam = {
        accessKey: caller.accessKeyId,
        accountId: caller.accountId,
        callerId: caller.accessKeyId,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: caller.principalArn,
        userId: caller.accessKeyId,
      };
      return { kind: 'invoke', route, pathParameters: match.pathParameters, authorizer: { iam } };
    }
    return { kind: 'invoke', route, pathParameters: match.pathParameters };
  }

  private async verifyJwt(
    route: ApiRouteSpec,
    headers: EdgeRequest['headers'],
  ): Promise<{ claims: Record<string, unknown>; scopes: string[] } | undefined> {
    const header = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
    const token = header?.replace(/^Bearer\s+/i, '');
    if (!token || !route.jwt || !this.options.issuer) return undefined;
    try {
      const payload = await this.options.issuer.verify(token, route.jwt);
      const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      return { claims: { ...payload }, scopes: scope };
    } catch {
      return undefined;
    }
  }
}
