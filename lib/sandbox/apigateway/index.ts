export { ApiGatewayEdge, type ApiGatewayEdgeOptions, type EdgeOutcome, type EdgeRequest } from './edge.ts';
export {
  type ApiRouteSpec,
  type ApiSpec,
  apiSpecOf,
  matchRoute,
  type RouteMatch,
  type RouteThrottle,
} from './spec.ts';
export { TokenBucket } from './throttle.ts';
