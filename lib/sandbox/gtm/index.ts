export { defaultRegionAddresses, type GtmDnsOptions, GtmDnsServer } from './dns.ts';
export { GtmConfigError } from './errors.ts';
export { CLIENT_REGION_HEADER, FrontDoor, type FrontDoorOptions, REGION_HEADER } from './front-door.ts';
export {
  type HealthChange,
  HealthChecker,
  type HealthCheckerOptions,
  type HealthTarget,
  type RegionHealth,
} from './health.ts';
export {
  candidateRegions,
  chooseByLatency,
  chooseByWeight,
  chooseLeastConnections,
  chooseRoundRobin,
  type LatencyTable,
  ROUTING_POLICIES,
  type RoutingPolicy,
} from './policies.ts';
export { type RouteRequest, Router, type RouterOptions } from './router.ts';
