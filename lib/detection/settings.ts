import type { Topology } from '../config/schema.ts';

/** The watchdog's timers and thresholds, in ms, as one region runs them. */
export interface WatchdogSettings {
  readonly intervalMs: number;
  readonly failureThreshold: number;
  readonly probeTimeoutMs: number;
  readonly staleHeartbeatMs: number;
  readonly observationFreshMs: number;
  readonly claimRetryMs: number;
  readonly readTimeoutMs: number;
}

/**
 * Heartbeats older than this count as silence: two heartbeat intervals (one missed heartbeat plus the
 * pipeline's delay is not silence). The watchdog and the Failover runbook's vote use the same value, so
 * a failover the watchdogs agree on is one the runbook confirms.
 */
export function staleHeartbeatMs(heartbeatIntervalMs: number): number {
  return 2 * heartbeatIntervalMs;
}

/**
 * The watchdog settings of a topology. `timeScale` compresses the detector's own timers (the sandbox's
 * `--fast`); `heartbeatIntervalMs` is the heartbeat period actually running (default: the topology's).
 * Probe timeouts never go below `minProbeTimeoutMs` (a loaded machine must not look like a lost region).
 */
export function watchdogSettings(
  topology: Topology,
  options: {
    timeScale?: number;
    heartbeatIntervalMs?: number;
    minProbeTimeoutMs?: number;
    /** Floor of the silence threshold (the sandbox's: replication on a loaded machine lags seconds). */
    minStaleHeartbeatMs?: number;
    /** Floor of the claim retry (a Failover on a loaded machine takes seconds). */
    minClaimRetryMs?: number;
  } = {},
): WatchdogSettings {
  const scale = options.timeScale ?? 1;
  const { watchdog } = topology.gtm;
  const intervalMs = Math.round(watchdog.intervalSeconds * 1_000 * scale);
  const probeTimeoutMs = Math.max(
    Math.round(watchdog.probeTimeoutMs * scale),
    Math.min(watchdog.probeTimeoutMs, options.minProbeTimeoutMs ?? 0),
  );
  return {
    intervalMs,
    failureThreshold: watchdog.failureThreshold,
    probeTimeoutMs,
    staleHeartbeatMs: Math.max(
      staleHeartbeatMs(options.heartbeatIntervalMs ?? topology.thresholds.heartbeatIntervalMs),
      options.minStaleHeartbeatMs ?? 0,
    ),
    // Three ticks, a tick lasting at most a probe timeout: a live watchdog's view is never older.
    observationFreshMs: 3 * Math.max(intervalMs, probeTimeoutMs),
    claimRetryMs: Math.max(
      Math.round(watchdog.claimRetrySeconds * 1_000 * scale),
      options.minClaimRetryMs ?? 0,
    ),
    readTimeoutMs: probeTimeoutMs,
  };
}

/**
 * Runs `tick` every `intervalMs` (fixed rate) until fewer than one interval plus `marginMs` remain: the
 * watchdog function is scheduled once a minute and ticks through its minute.
 */
export async function tickThroughWindow(
  tick: () => Promise<unknown>,
  schedule: {
    readonly intervalMs: number;
    readonly remainingMs: () => number;
    readonly marginMs?: number;
    readonly sleep?: (ms: number) => Promise<void>;
  },
): Promise<number> {
  const sleep = schedule.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const margin = schedule.marginMs ?? 0;
  let ticks = 0;
  for (;;) {
    const started = Date.now();
    await tick();
    ticks++;
    const wait = Math.max(0, schedule.intervalMs - (Date.now() - started));
    if (schedule.remainingMs() < wait + margin) return ticks;
    await sleep(wait);
  }
}
