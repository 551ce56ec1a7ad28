import type { HybridLogicalClock } from '../clock/clock.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { type HeartbeatWriter, heartbeatEnvelope } from './heartbeat.ts';
import { NO_METRICS, type ReplicationMetrics } from './ports.ts';
import type { PublishHolds } from './publish-holds.ts';
import { lagMs, type WatermarkStore } from './watermarks.ts';

export interface LagMonitorDeps {
  readonly region: string;
  readonly peers: readonly string[];
  readonly clock: HybridLogicalClock;
  readonly heartbeats: HeartbeatWriter;
  readonly watermarks: WatermarkStore;
  /** This region's unpublished events: the heartbeat announces the oldest (see PublishHolds). */
  readonly holds?: PublishHolds;
  readonly metrics?: ReplicationMetrics;
  readonly now?: () => Date;
}

export interface LagReading {
  readonly from: string;
  readonly to: string;
  /** null when nothing (not even a heartbeat) was ever applied from `from`. */
  readonly lagMs: number | null;
}

export interface LagMonitorTick {
  readonly heartbeat: EventEnvelope;
  readonly lags: LagReading[];
}

/**
 * One lag-monitor tick: writes this region's heartbeat (it reaches the peers through the same pipeline as
 * events, so silence is told apart from lag; it names the oldest event not yet published, if any), then
 * measures the lag from every peer into this region and
 * emits `ReplicationLagMs{From,To}`.
 */
export async function runLagMonitorTick(deps: LagMonitorDeps): Promise<LagMonitorTick> {
  const heartbeat = heartbeatEnvelope(deps.region, deps.clock, await deps.holds?.oldest());
  await deps.heartbeats.write(heartbeat);
  const now = (deps.now ?? (() => new Date()))().getTime();
  const watermarks = await deps.watermarks.list();
  const metrics = deps.metrics ?? NO_METRICS;
  const lags = deps.peers.map((from) => {
    const lag = lagMs(
      now,
      watermarks.find((w) => w.origin === from),
    );
    if (lag !== null) metrics.lag(from, deps.region, lag);
    return { from, to: deps.region, lagMs: lag };
  });
  return { heartbeat, lags };
}

/**
 * Runs ticks every `intervalMs` until fewer than `intervalMs` + `marginMs` remain (the function is
 * scheduled once a minute, heartbeats are due every few seconds).
 */
export async function runLagMonitor(
  deps: LagMonitorDeps,
  schedule: {
    intervalMs: number;
    remainingMs: () => number;
    marginMs?: number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<LagMonitorTick[]> {
  const sleep = schedule.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const margin = schedule.marginMs ?? 2_000;
  const ticks: LagMonitorTick[] = [];
  for (;;) {
    const started = Date.now();
    ticks.push(await runLagMonitorTick(deps));
    const wait = Math.max(0, schedule.intervalMs - (Date.now() - started));
    if (schedule.remainingMs() < wait + schedule.intervalMs + margin) return ticks;
    await sleep(wait);
  }
}
