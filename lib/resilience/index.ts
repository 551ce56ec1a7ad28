export { CircuitOpenError, PeerTimeoutError, ResilienceError } from './errors.ts';
export { type BreakerReport, breakerReport, type RegionBreakers } from './health.ts';
export {
  BREAKER_STATES,
  type BreakerState,
  type CallOptions,
  ServiceBreaker,
  type ServiceBreakerOptions,
  ServiceBreakers,
  serviceBreakerOptions,
} from './service-breaker.ts';
export {
  type LagReader,
  nextSyncState,
  SYNC_STATES,
  type SyncBreakerStatus,
  SyncBreakers,
  type SyncBreakersOptions,
  type SyncState,
  type SyncThresholds,
} from './sync-breaker.ts';
export {
  type RegionTraffic,
  regionTrafficKey,
  setRegionTraffic,
  TRAFFIC_STATES,
  TrafficBreaker,
  type TrafficBreakerOptions,
  type TrafficState,
} from './traffic-breaker.ts';
