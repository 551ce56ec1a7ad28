export { type ApiDeps, createApiHandler, HEADERS, type HealthReport } from './app.ts';
export { type CommandResponse, createCommandRunner } from './commands.ts';
export { type ApiAuth, type CallerAuth, edgeAuthentication } from './edge-auth.ts';
export {
  boundedOr,
  type HealthStatus,
  type HealthVerdict,
  RegionHealthMonitor,
  type RegionHealthMonitorOptions,
  trafficOnlyMonitor,
} from './health.ts';
export { createHealthHandler } from './health-handler.ts';
export { dynamoHealthProbe } from './health-probe.ts';
export { type HealthRouteDeps, healthRoute } from './health-route.ts';
export { HttpError, toHttpError } from './http-error.ts';
export { httpErrors, responseHeaders } from './middleware.ts';
export { type MultiRegion, type MultiRegionOptions, multiRegionDeps } from './multi-region.ts';
export {
  type AggregateTarget,
  aggregateTarget,
  commandBodySchema,
  MAX_BODY_BYTES,
  parseCommandBody,
  pathParameter,
} from './request.ts';
export { jsonResponse } from './responses.ts';
export { type ApiRouting, peerRequest, routeRead, routeWrite, toApiResult } from './routing.ts';
