/**
 * Failover measured in the sandbox: a region is killed while clients near every region write; figures are
 * taken from the demo scenario run with real inter-region latencies and health checks compressed to a 1 s
 * interval with failure threshold 2 (the reference setting).
 */
import '../lib/sandbox/polyfills.ts';
import { runDemo } from '../lib/sandbox/demo/scenario.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { type Figure, round } from './report.ts';

const timed = (value: number | undefined) => (value === undefined ? Number.NaN : round(value, 0));

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runRunbookBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const sandbox = await Sandbox.start({
    fast: true,
    timing: { wanTimeScale: 1, awsTimeScale: 1 },
  });
  try {
    const report = await runDemo(sandbox, { phaseMs: options.quick ? 3_000 : 8_000, log: () => {} });
    // A core orphan (ack local) that Failback queued for manual resolution is kept, with both versions.
    const queued = new Set(report.queuedOrphans ?? []);
    const lost = (report.unrecovered ?? []).filter((id) => !queued.has(id)).length;
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
        value: queued.size,
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
  } finally {
    await sandbox.stop();
  }
}
