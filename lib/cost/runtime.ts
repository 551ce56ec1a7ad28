import type { Topology } from '../config/index.ts';
import { OWNERSHIP_DEFAULTS } from '../ownership/partition-map.ts';
import type { QuotaList } from './catalog.ts';

/** The cell's functions (cdk/constructs/function-defaults.ts FUNCTION_NAMES). */
export const FUNCTIONS = ['api', 'publisher', 'applier', 'lag-monitor', 'runbook'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/**
 * Settings the code runs with that decide how many requests background work makes. Each mirrors a value
 * in the code; `test/unit/cost/runtime.test.ts` checks every one against it.
 */
export const CODE_SETTINGS = {
  /** SyncBreakers re-reads lag at most this often (lib/resilience/sync-breaker.ts). */
  syncRefreshMs: 1_000,
  /** TrafficBreaker re-reads the drained/active state at most this often (lib/resilience/traffic-breaker.ts). */
  trafficRefreshMs: 5_000,
  /** The lag monitor ticks for this long per scheduled invocation (functions/lag-monitor/handler.ts). */
  lagMonitorWindowMs: 60_000,
  /** ...and stops when fewer than interval + this remain (lib/replication/lag-monitor.ts runLagMonitor). */
  lagMonitorMarginMs: 2_000,
  /** The publisher's event source mapping batch size (cdk/constructs/cell-functions.ts PUBLISHER_STREAM). */
  publisherBatchSize: 100,
  /** Memory of each function, MB (cdk/constructs/function-defaults.ts FUNCTION_SETTINGS). */
  memoryMb: { api: 1024, publisher: 512, applier: 512, 'lag-monitor': 256, runbook: 1024 },
  /** Repair Map state transitions: ListPartitions, the Map, Report, Succeed; per partition 4 (cdk/constructs/runbooks/repair.ts). */
  repairFixedTransitions: 4,
  repairTransitionsPerPartition: 4,
} as const satisfies Record<string, unknown>;

/** How the platform runs: timers and sizes that turn load into background requests. */
export interface Runtime {
  readonly kind: 'aws' | 'sandbox';
  readonly leaseMs: number;
  readonly syncRefreshMs: number;
  readonly trafficRefreshMs: number;
  /** Heartbeat ticks per second per region. */
  readonly heartbeatTicksPerSecond: number;
  /** Lag-monitor invocations per second per region, and the seconds each one runs. */
  readonly lagMonitor: { readonly invocationsPerSecond: number; readonly secondsPerInvocation: number };
  /** GET /health requests per second per region. */
  readonly healthChecksPerSecond: number;
  /** Wait between polls of a stream shard with nothing new. */
  readonly streamPollMs: number;
  readonly publisherBatchSize: number;
  /** Warm instances per region; undefined: from the load (concurrency = rate x duration, at least 1). */
  readonly instances?: { readonly api: number; readonly applier: number };
  /** Stream shards of a region's events table; undefined: one per 1,000 write units a second. */
  readonly streamShards?: number;
  readonly memoryMb: Readonly<Record<FunctionName, number>>;
  /** Nightly Repair (repair.schedule); the sandbox runs none on its own. */
  readonly repairRunsPerDay: number;
}

/**
 * Ticks of one lag-monitor invocation and how long it runs, as runLagMonitor schedules them: a tick,
 * then another every interval while at least two intervals and the margin remain.
 */
export function lagMonitorSchedule(
  intervalMs: number,
  windowMs: number = CODE_SETTINGS.lagMonitorWindowMs,
  marginMs: number = CODE_SETTINGS.lagMonitorMarginMs,
): { ticks: number; durationMs: number } {
  let elapsed = 0;
  let ticks = 0;
  for (;;) {
    ticks++;
    if (windowMs - elapsed < intervalMs + intervalMs + marginMs) return { ticks, durationMs: elapsed };
    elapsed += intervalMs;
  }
}

/** How the code runs in AWS for this topology. */
export function awsRuntime(topology: Topology, quotas: QuotaList): Runtime {
  const { ticks, durationMs } = lagMonitorSchedule(topology.thresholds.heartbeatIntervalMs);
  const window = CODE_SETTINGS.lagMonitorWindowMs / 1000;
  const checkers = quotas.global('route53.healthCheckersPerCheck').value;
  return {
    kind: 'aws',
    leaseMs: OWNERSHIP_DEFAULTS.leaseMs,
    syncRefreshMs: CODE_SETTINGS.syncRefreshMs,
    trafficRefreshMs: CODE_SETTINGS.trafficRefreshMs,
    heartbeatTicksPerSecond: ticks / window,
    lagMonitor: { invocationsPerSecond: 1 / window, secondsPerInvocation: durationMs / 1000 + 0.1 },
    healthChecksPerSecond: checkers / topology.gtm.healthCheck.intervalSeconds,
    streamPollMs: 1000 / quotas.global('lambda.streamPollsPerSecond').value,
    publisherBatchSize: CODE_SETTINGS.publisherBatchSize,
    memoryMb: CODE_SETTINGS.memoryMb,
    repairRunsPerDay: topology.repair.schedule === null ? 0 : 1,
  };
}

/** The sandbox's timers (lib/sandbox/platform/timing.ts): one process per region, one instance of each function. */
export function sandboxRuntime(timing: {
  readonly heartbeatIntervalMs: number;
  readonly healthIntervalMs: number;
  readonly streamPollMs: number;
  readonly leaseMs: number;
}): Runtime {
  const ticks = 1000 / timing.heartbeatIntervalMs;
  return {
    kind: 'sandbox',
    leaseMs: timing.leaseMs,
    syncRefreshMs: CODE_SETTINGS.syncRefreshMs,
    trafficRefreshMs: CODE_SETTINGS.trafficRefreshMs,
    heartbeatTicksPerSecond: ticks,
    lagMonitor: { invocationsPerSecond: ticks, secondsPerInvocation: 0.005 },
    healthChecksPerSecond: 1000 / timing.healthIntervalMs,
    streamPollMs: timing.streamPollMs,
    publisherBatchSize: CODE_SETTINGS.publisherBatchSize,
    instances: { api: 1, applier: 1 },
    streamShards: 1,
    memoryMb: CODE_SETTINGS.memoryMb,
    repairRunsPerDay: 0,
  };
}
