import { resolveIntrinsics, resourcesOfType, type StackEnvironment } from '../cdk/intrinsics.ts';
import type { CfnTemplate } from '../cdk/templates.ts';
import { TemplateTranslationError } from '../errors.ts';

/** A route's throttle (stage route settings): requests per second and bucket size. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** One route of a synthesized HTTP API, with what the sandbox's API Gateway needs to serve it. */
export interface ApiRouteSpec {
  readonly routeKey: string;
  /** `ANY` or an HTTP method. */
  readonly method: string;
  /** Path template, e.g. `/v1/{proxy+}` or `/health`. */
  readonly path: string;
  readonly authorization: 'NONE' | 'JWT' | 'AWS_IAM';
  readonly jwt?: { readonly issuer: string; readonly audience: readonly string[] };
  /** Name of the Lambda function the route's integration invokes. */
  readonly functionName: string;
  readonly throttle?: RouteThrottle;
}

/** The HTTP API of a regional stack as the sandbox serves it. */
export interface ApiSpec {
  /** What `Ref` of the API resolves to (the alarms' `ApiId` dimension). */
  readonly apiId: string;
  readonly routes: readonly ApiRouteSpec[];
}

type Raw = Record<string, unknown>;

function refOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && typeof (value as Raw).Ref === 'string'
    ? ((value as Raw).Ref as string)
    : undefined;
}

function throttleOf(settings: unknown): RouteThrottle | undefined {
  const s = (settings ?? {}) as Raw;
  if (typeof s.ThrottlingRateLimit !== 'number' || typeof s.ThrottlingBurstLimit !== 'number')
    return undefined;
  return { rateLimit: s.ThrottlingRateLimit, burstLimit: s.ThrottlingBurstLimit };
}

/** The routes, authorizers, integrations and stage throttles of the (single) HTTP API of a template. */
export function apiSpecOf(template: CfnTemplate, env: StackEnvironment): ApiSpec {
  const [api] = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api');
  if (!api) throw new TemplateTranslationError('the template has no HTTP API');
  const stage = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage', env)[0]?.properties ?? {};
  const defaults = throttleOf(stage.DefaultRouteSettings);
  const perRoute = (stage.RouteSettings ?? {}) as Raw;
  const routes = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map((route): ApiRouteSpec => {
      const p = route.Properties ?? {};
      const routeKey = String(p.RouteKey);
      const [method, path] = routeKey.split(' ') as [string, string];
      const integrationId = String(resolveIntrinsics(p.Target, template, env)).replace(/^integrations\//, '');
      const integration = template.Resources[integrationId]?.Properties ?? {};
      const arn = String(resolveIntrinsics(integration.IntegrationUri, template, env));
      const authorizerId = refOf(p.AuthorizerId);
      const jwt = authorizerId
        ? (template.Resources[authorizerId]?.Properties?.JwtConfiguration as Raw)
        : undefined;
      const throttle = throttleOf(perRoute[routeKey]) ?? defaults;
      return {
        routeKey,
        method,
        path,
        authorization: (p.AuthorizationType as ApiRouteSpec['authorization'] | undefined) ?? 'NONE',
        ...(jwt
          ? { jwt: { issuer: String(jwt.Issuer), audience: (jwt.Audience as string[] | undefined) ?? [] } }
          : {}),
        functionName: arn.slice(arn.lastIndexOf(':') + 1),
        ...(throttle ? { throttle } : {}),
      };
    });
  return { apiId: String(resolveIntrinsics({ Ref: api[0] }, template, env)), routes };
}

/** A matched route and the path parameters API Gateway would pass (`proxy` for greedy paths). */
export interface RouteMatch {
  readonly route: ApiRouteSpec;
  readonly pathParameters: Readonly<Record<string, string>>;
}

function matchPath(template: string, path: string): Record<string, string> | undefined {
  if (template === path) return {};
  const greedy = /^(.*)\/\{(\w+)\+\}$/.exec(template);
  if (!greedy) return undefined;
  const [, prefix, name] = greedy as unknown as [string, string, string];
  if (!path.startsWith(`${prefix}/`) || path.length <= prefix.length + 1) return undefined;
  return { [name]: path.slice(prefix.length + 1) };
}

/**
 * API Gateway's route selection for HTTP APIs: the most specific match wins (a static path before a
 * greedy one, a longer prefix before a shorter), a route for the method before `ANY`.
 */
export function matchRoute(spec: ApiSpec, method: string, path: string): RouteMatch | undefined {
  const candidates = spec.routes
    .filter((r) => r.method === method || r.method === 'ANY')
    .flatMap((route) => {
      const pathParameters = matchPath(route.path, path);
      return pathParameters ? [{ route, pathParameters }] : [];
    });
  const rank = (m: RouteMatch) =>
    (m.route.path.includes('{') ? 0 : 10_000) + m.route.path.length * 2 + (m.route.method === 'ANY' ? 0 : 1);
  return candidates.sort((a, b) => rank(b) - rank(a))[0];
}
