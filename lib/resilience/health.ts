import type { BreakerState, ServiceBreakers } from './service-breaker.ts';
import type { SyncBreakerStatus, SyncBreakers } from './sync-breaker.ts';
import type { RegionTraffic, TrafficBreaker } from './traffic-breaker.ts';

/** The breakers a region exposes on /health. */
export interface RegionBreakers {
  readonly service?: ServiceBreakers;
  readonly sync?: SyncBreakers;
  readonly traffic?: TrafficBreaker;
}

export interface BreakerReport {
  /** False only when the region is drained (global traffic breaker): degraded sync or open service breakers stay healthy. */
  readonly healthy: boolean;
  readonly traffic: RegionTraffic;
  readonly breakers: {
    readonly service: Record<string, BreakerState>;
    readonly sync: Record<string, SyncBreakerStatus>;
  };
  readonly degradedPeers: string[];
}

/**
 * The breaker part of a region's health report.
 * @example const report = await breakerReport({ service, sync, traffic }); // { healthy, traffic, breakers, degradedPeers }
 */
export async function breakerReport(breakers: RegionBreakers): Promise<BreakerReport> {
  const [traffic, sync] = await Promise.all([
    breakers.traffic?.traffic() ?? Promise.resolve({ state: 'active' as const, changedAt: 0 }),
    breakers.sync?.refresh() ?? Promise.resolve<Record<string, SyncBreakerStatus>>({}),
  ]);
  return {
    healthy: traffic.state !== 'drained',
    traffic,
    breakers: { service: breakers.service?.snapshot() ?? {}, sync },
    degradedPeers: Object.entries(sync)
      .filter(([, status]) => status.state === 'open')
      .map(([peer]) => peer),
  };
}
