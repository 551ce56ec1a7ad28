export { type ApiDeps, createApiHandler, HEADERS, type HealthReport } from './app.ts';
export { type CommandResponse, createCommandRunner } from './commands.ts';
export { type ApiAuth, type CallerAuth, edgeAuthentication } from './edge-auth.ts';
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
