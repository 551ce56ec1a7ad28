import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ROUTING_HEADERS } from '../routing/headers.ts';
import { type HealthRouteDeps, healthRoute } from './health-route.ts';
import { HttpError } from './http-error.ts';
import { httpErrors, responseHeaders } from './middleware.ts';

/**
 * The health function: GET /health only (the route API Gateway sends it), everything else 404. It is a
 * function of its own so that no flood on the API's routes can take its capacity (its own route
 * throttle at API Gateway, and optionally reserved concurrency).
 * @example export const handler = createHealthHandler({ region, healthMonitor, breakers });
 */
export function createHealthHandler(deps: HealthRouteDeps) {
  const health = healthRoute(deps);
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(responseHeaders({ [ROUTING_HEADERS.region]: deps.region }))
    .use(httpErrors({ headers: { [ROUTING_HEADERS.region]: deps.region } }))
    .handler(async (event) => {
      const { method, path } = event.requestContext.http;
      if (method !== 'GET' || path !== '/health') {
        throw new HttpError(404, 'RouteNotFound', `no route for ${method} ${path}`);
      }
      return health(event);
    });
}
