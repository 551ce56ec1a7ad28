import type { Figure } from '../../ops/figures.ts';
import type { DemoReport } from './report.ts';

/**
 * Timers of a region-loss measurement: real inter-region latencies, health checks every 1 s with
 * threshold 2 (the runbooks bench's reference setting, also the drill's when it starts its own sandbox).
 */
export const REGION_LOSS_TIMING = {
  wanTimeScale: 1,
  healthIntervalMs: 1_000,
  healthFailureThreshold: 2,
} as const;

const timed = (value: number | undefined) => (value === undefined ? Number.NaN : Math.round(value));

/** Events at risk that are in no region's log after failback + repair, core orphans queued for an operator apart. */
export function lostAfterRecovery(report: DemoReport): number {
  const queued = new Set(report.queuedOrphans ?? []);
  return (report.unrecovered ?? []).filter((id) => !queued.has(id)).length;
}

/**
 * The figures of a region-loss run (the demo scenario): what the runbooks bench publishes and what a
 * `multiactive drill region-loss` report states. One computation, so the two always agree.
 */
export function regionLossFigures(report: DemoReport): Figure[] {
  const lost = lostAfterRecovery(report);
  const queued = new Set(report.queuedOrphans ?? []).size;
  return [
    {
      figure: 'failover detection (kill -> GTM unhealthy)',
      value: timed(report.detectionMs),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'RTO for clients of the lost region (kill -> first successful write)',
      value: timed(report.rtoMs),
      unit: 'ms',
      target: 'reference',
      met: null,
    },
    {
      figure: 'core RTO (kill -> first write for a partition homed in the lost region)',
      value: timed(report.coreRtoMs),
      unit: 'ms',
      target: '< 5000 ms',
      met: report.coreRtoMs !== undefined && report.coreRtoMs < 5_000,
    },
    {
      figure: 'Failover state machine execution',
      value: timed(report.failoverMachineMs),
      unit: 'ms',
      target: '< 1000 ms',
      met: report.failoverMachineMs !== undefined && report.failoverMachineMs < 1_000,
    },
    {
      figure: 'events at risk at failover (RPO window)',
      value: report.atRisk,
      unit: 'events',
      target: 'reference',
      met: null,
    },
    {
      figure: 'core orphans (ack local) in the manual conflict queue after failback, not lost',
      value: queued,
      unit: 'events',
      target: 'reference',
      met: null,
    },
    {
      figure: 'events at risk lost after failback + repair (core ack local, important, ordinary)',
      value: lost,
      unit: 'events',
      target: '0',
      met: lost === 0,
    },
    {
      figure: 'consistency check after failback + repair',
      value: report.check.passed ? 1 : 0,
      unit: 'pass',
      target: '1',
      met: report.check.passed,
    },
  ];
}
