import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RegionBreakers } from '../resilience/health.ts';
import type { SyncBreakerStatus } from '../resilience/sync-breaker.ts';
import { boundedOr, type RegionHealthMonitor, trafficOnlyMonitor } from './health.ts';
import { jsonResponse } from './responses.ts';

/** What the /health route reads. */
export interface HealthRouteDeps {
  readonly region: string;
  readonly healthMonitor?: RegionHealthMonitor;
  readonly breakers?: RegionBreakers;
  /** Extra facts (replication lag per origin...); `healthy: false` fails the check. */
  readonly health?: () => Promise<{ readonly healthy: boolean; readonly [key: string]: unknown }>;
}

/** Time the informative parts of the report (lag, breakers) may take; the verdict has its own budget. */
const DETAILS_BUDGET_MS = 1_000;

async function breakerDetails(breakers: RegionBreakers | undefined): Promise<Record<string, unknown>> {
  const sync = await (breakers?.sync?.refresh() ?? Promise.resolve<Record<string, SyncBreakerStatus>>({}));
  return {
    breakers: { service: breakers?.service?.snapshot() ?? {}, sync },
    degradedPeers: Object.entries(sync)
      .filter(([, status]) => status.state === 'open')
      .map(([peer]) => peer),
  };
}

/**
 * GET /health: 200 while the region serves; 503 when it is drained (on purpose) or cannot write (gray
 * failure), with `status` and `reason` saying which. Answers within ~1.5 s whatever hangs behind it:
 * the verdict comes from the health monitor, the informative parts are dropped when they are slow.
 */
export function healthRoute(
  deps: HealthRouteDeps,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  const monitor =
    deps.healthMonitor ??
    trafficOnlyMonitor(deps.breakers?.traffic && (() => deps.breakers!.traffic!.traffic()));
  return async () => {
    const [verdict, extra, breakers] = await Promise.all([
      monitor.check(),
      boundedOr(deps.health?.() ?? Promise.resolve({ healthy: true }), DETAILS_BUDGET_MS, { healthy: true }),
      boundedOr(breakerDetails(deps.breakers), DETAILS_BUDGET_MS, {}),
    ]);
    const healthy = verdict.healthy && extra.healthy;
    // A local override (the sandbox's kill switch for draining) reads as a drain.
    const status = verdict.status === 'serving' && !healthy ? 'drained' : verdict.status;
    return jsonResponse(healthy ? 200 : 503, {
      region: deps.region,
      ...extra,
      ...breakers,
      healthy,
      status,
      ...(verdict.reason ? { reason: verdict.reason } : {}),
      store: verdict.store,
      traffic: verdict.traffic,
    });
  };
}
