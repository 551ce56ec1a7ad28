import type { Topology } from '../config/index.ts';
import type { FencingBudget } from '../ownership/fencing-budget.ts';
import type { QuotaList } from './catalog.ts';
import type { SagaShapes } from './sagas.ts';

/** The cell's functions (cdk/constructs/function-defaults.ts FUNCTION_NAMES). */
export const FUNCTIONS = [
  'api',
  'health',
  'publisher',
  'applier',
  'lag-monitor',
  'runbook',
  'watchdog',
  'readiness',
  'saga',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/**
 * Settings of the code that decide how many requests background work makes. Each mirrors a value in the
 * code; `test/unit/cost/runtime.test.ts` checks every one against it.
 */
export const CODE_SETTINGS = {
  /** Memory of each function, MB (cdk/constructs/function-defaults.ts FUNCTION_SETTINGS). */
  memoryMb: {
    api: 1024,
    health: 256,
    publisher: 512,
    applier: 512,
    'lag-monitor': 256,
    runbook: 1024,
    watchdog: 256,
    readiness: 256,
    saga: 1024,
  } satisfies Record<FunctionName, number>,
  /** The publisher's event source mapping batch size (cdk/constructs/cell-functions.ts PUBLISHER_STREAM). */
  publisherBatchSize: 100,
  /** SyncBreakers re-read the watermarks at most this often per instance (lib/resilience/sync-breaker.ts). */
  syncRefreshMs: 1_000,
  /** TrafficBreaker re-reads the drained/active register at most this often (lib/resilience/traffic-breaker.ts). */
  trafficRefreshMs: 5_000,
  /** RegionHealthMonitor reuses a verdict (its probe write) this long (lib/api/health.ts). */
  healthVerdictMs: 1_000,
  /** Powertools caches the internal key this long per container (lib/auth/secrets-manager-key.ts). */
  secretCacheMs: 300_000,
  /** The lag monitor, the watchdog and readiness are scheduled every minute (cdk/constructs/cell-functions.ts). */
  scheduleMs: 60_000,
  /** The lag monitor stops when fewer than interval + this remain (lib/replication/lag-monitor.ts). */
  lagMonitorMarginMs: 2_000,
  /** The watchdog stops this long before its minute ends (functions/watchdog/handler.ts). */
  watchdogMarginMs: 5_000,
} as const;

/** How the platform runs: the timers and sizes that turn load into background requests. */
export interface Runtime {
  readonly kind: 'aws' | 'sandbox';
  /**
   * The application's sagas (`sagaShapes(application.sagas)`): the saga function runs their steps, and
   * each recovery sweep queries every type.
   */
  readonly sagas: SagaShapes;
  /** A home re-reads a partition's entry (a majority read) when its lease is older than this at a core write. */
  readonly fenceRefreshAgeMs: number;
  /** ...and when forwarding: each lease past half its life is renewed. */
  readonly routeRefreshAgeMs: number;
  /** Heartbeat ticks (lag-monitor) per second per region. */
  readonly heartbeatTicksPerSecond: number;
  /** Route 53 (or the sandbox GTM) requests to each region's /health per second. */
  readonly healthChecksPerSecond: number;
  /** Watchdog ticks per second per region (each probes every peer's /health). */
  readonly watchdogTicksPerSecond: number;
  /**
   * Whether the watchdogs of all regions tick in step, so a region's probes from its peers arrive together
   * and share one cached verdict (the sandbox starts them at once); in AWS each region's schedule has its
   * own phase.
   */
  readonly watchdogsInStep: boolean;
  /**
   * Whether the API and the health function share one set of sync breakers (one process per region in
   * the sandbox); in AWS each function's instances keep their own.
   */
  readonly sharedBreakers: boolean;
  /** Period of a stream shard's polls. */
  readonly streamPollMs: number;
  /** Warm instances per region; undefined: from the load (concurrency = rate x duration, at least 1). */
  readonly instances?: Readonly<Partial<Record<FunctionName, number>>>;
  /** Stream shards of a region's events table; undefined: one per 1,000 write units a second. */
  readonly streamShards?: number;
  /** Scheduled functions: invocations per second per region and the seconds each runs. */
  readonly scheduled: Readonly<
    Record<'lag-monitor' | 'watchdog' | 'readiness' | 'saga', { perSecond: number; seconds: number }>
  >;
  /**
   * Recovery sweeps of the sagas per second per region (the saga function on its schedule; the sandbox
   * runs the same sweep on a timer, without a Lambda invocation).
   */
  readonly sagaSweepsPerSecond: number;
  /**
   * Whether the saga function shares the API's partition leases (one process per region in the sandbox);
   * in AWS its instances keep their own and renew them for the writes they make.
   */
  readonly sharedLeases: boolean;
  /** Nightly Repair runs per day (repair.schedule); the sandbox runs none on its own. */
  readonly repairRunsPerDay: number;
  /**
   * Share of core events whose quorum-ack copy reaches a peer before the replication path delivers the
   * event there (then the applier finds it stored). In AWS the copy is a direct write issued right after
   * the local append while the event waits for a stream poll, a Lambda and a cross-region bus: always.
   */
  readonly copyFirstShare: number;
}

/**
 * Ticks of a function that ticks every `intervalMs` through a scheduled minute. The lag monitor stops when
 * fewer than two intervals and its margin remain (lib/replication/lag-monitor.ts runLagMonitor), the
 * watchdog when fewer than one interval remains of its minute less the margin (lib/detection/settings.ts
 * tickThroughWindow).
 */
export function ticksPerRun(
  intervalMs: number,
  rule: { readonly marginMs: number; readonly intervalsLeft: 1 | 2 },
  windowMs: number = CODE_SETTINGS.scheduleMs,
) {
  let elapsed = 0;
  let ticks = 0;
  for (;;) {
    ticks++;
    const left = windowMs - elapsed - (rule.intervalsLeft === 1 ? rule.marginMs : 0);
    const needed = rule.intervalsLeft * intervalMs + (rule.intervalsLeft === 2 ? rule.marginMs : 0);
    if (left < needed) return { ticks, seconds: elapsed / 1000 };
    elapsed += intervalMs;
  }
}

/** The lag monitor's and the watchdog's stopping rules. */
export const LAG_MONITOR_RUN = { marginMs: CODE_SETTINGS.lagMonitorMarginMs, intervalsLeft: 2 } as const;
export const WATCHDOG_RUN = { marginMs: CODE_SETTINGS.watchdogMarginMs, intervalsLeft: 1 } as const;

/** Lease ages at which a write re-reads the partition's entry (lib/ownership/ownership.ts currentLease). */
function refreshAges(fencing: FencingBudget) {
  const inFlight = fencing.quorumCopyTimeoutMs + fencing.appendTimeoutMs;
  return {
    fenceRefreshAgeMs: Math.min(fencing.leaseMs / 2, fencing.leaseMs - inFlight),
    routeRefreshAgeMs: fencing.leaseMs / 2,
  };
}

/** Duration of one readiness evaluation (every region's reads), seconds; measured ~1-3 s. */
const READINESS_SECONDS = 2;
/** Duration of one saga sweep with nothing overdue (a Query per saga type), seconds. */
const SAGA_SWEEP_SECONDS = 0.05;

/**
 * How the code runs in AWS for this topology and the application's sagas: the lag monitor and the
 * watchdog tick through every scheduled minute, Route 53's checkers probe each region, streams are polled
 * four times a second.
 */
export function awsRuntime(topology: Topology, quotas: QuotaList, sagas: SagaShapes): Runtime {
  const window = CODE_SETTINGS.scheduleMs / 1000;
  const hb = ticksPerRun(topology.thresholds.heartbeatIntervalMs, LAG_MONITOR_RUN);
  const watchdogMs = topology.gtm.watchdog.intervalSeconds * 1000;
  const wd = ticksPerRun(watchdogMs, WATCHDOG_RUN);
  const checkers = quotas.global('route53.healthCheckersPerCheck').value;
  return {
    kind: 'aws',
    sagas,
    ...refreshAges(topology.fencing),
    heartbeatTicksPerSecond: hb.ticks / window,
    healthChecksPerSecond: checkers / topology.gtm.healthCheck.intervalSeconds,
    watchdogTicksPerSecond: wd.ticks / window,
    watchdogsInStep: false,
    sharedBreakers: false,
    streamPollMs: 1000 / quotas.global('lambda.streamPollsPerSecond').value,
    scheduled: {
      'lag-monitor': { perSecond: 1 / window, seconds: hb.seconds + 0.2 },
      watchdog: { perSecond: 1 / window, seconds: wd.seconds + 0.5 },
      readiness: { perSecond: 1 / window, seconds: READINESS_SECONDS },
      // cdk/constructs/sagas/sagas.ts: a rule every `sagas.sweepIntervalSeconds` invokes the saga function.
      saga: { perSecond: 1 / topology.sagas.sweepIntervalSeconds, seconds: SAGA_SWEEP_SECONDS },
    },
    sagaSweepsPerSecond: 1 / topology.sagas.sweepIntervalSeconds,
    sharedLeases: false,
    repairRunsPerDay: topology.repair.schedule === null ? 0 : 1,
    copyFirstShare: 1,
  };
}

/** The sandbox's timers (lib/sandbox/platform/timing.ts), as a sandbox run applies them. */
export interface SandboxTimers {
  readonly heartbeatIntervalMs: number;
  /** Multiplies the Route 53 check interval, the watchdog's tick and the schedules. */
  readonly awsTimeScale: number;
  readonly streamPollMs: number;
  readonly fencing: FencingBudget;
  /** The recovery sweep's timer in every region (the saga function called directly, not invoked). */
  readonly sagaSweepMs: number;
}

/**
 * The sandbox's runtime: one process per region (one instance of each function, taken as one for the
 * applier too: it starts another only for overlapping deliveries, which at the cost-model test's few events
 * a second leave its calls within 10 % of one instance's), one stream shard, the GTM probing each region
 * once per (scaled) interval, heartbeats on a plain interval, the saga sweep on its timer. The schedules'
 * Lambda invocations are counted; the lag monitor's ticks, the saga sweeps and the stream poller's
 * invocations of the publisher are not Lambda invocations there.
 */
export function sandboxRuntime(topology: Topology, timers: SandboxTimers, sagas: SagaShapes): Runtime {
  const scale = timers.awsTimeScale;
  const minute = (CODE_SETTINGS.scheduleMs * scale) / 1000;
  const instances = Object.fromEntries(
    ['api', 'health', 'applier', 'publisher', 'saga'].map((fn) => [fn, 1]),
  ) as Record<FunctionName, number>;
  return {
    kind: 'sandbox',
    sagas,
    ...refreshAges(timers.fencing),
    heartbeatTicksPerSecond: 1000 / timers.heartbeatIntervalMs,
    healthChecksPerSecond: 1 / (topology.gtm.healthCheck.intervalSeconds * scale),
    watchdogTicksPerSecond: 1 / (topology.gtm.watchdog.intervalSeconds * scale),
    watchdogsInStep: true,
    sharedBreakers: true,
    streamPollMs: timers.streamPollMs,
    instances,
    streamShards: 1,
    scheduled: {
      'lag-monitor': { perSecond: 0, seconds: 0 },
      watchdog: { perSecond: 1 / minute, seconds: minute },
      readiness: { perSecond: 1 / minute, seconds: READINESS_SECONDS },
      saga: { perSecond: 0, seconds: 0 },
    },
    sagaSweepsPerSecond: 1000 / timers.sagaSweepMs,
    sharedLeases: true,
    repairRunsPerDay: 0,
    copyFirstShare: 1,
  };
}
