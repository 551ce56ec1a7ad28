export { LinkDownError, type LinkDownReason, UnknownRegionError } from './errors.ts';
export { defaultOneWayMs, defaultRttMs, INTER_REGION_RTT_MS, UNKNOWN_PAIR_RTT_MS } from './latency.ts';
export {
  type LinkChangeOptions,
  type LinkState,
  WanNetwork,
  type WanNetworkOptions,
  type WanStats,
} from './links.ts';
