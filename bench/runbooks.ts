/**
 * Region loss measured in the sandbox at AWS's timings, next to the RTO projected for AWS. The demo
 * scenario runs with real inter-region latencies, the synthesized Route 53 checks (10 s x 3), the
 * watchdog at its synthesized schedule (5 s ticks, 2 failed probes, 10 s of heartbeat silence), 5 s
 * heartbeats and a 5 s lease: a region is killed while clients near every region write. The projection
 * runs the same chain at AWS's timings with the Failover execution measured here (lib/detection/projection.ts).
 */
import '../lib/sandbox/polyfills.ts';
import { REGION_LOSS_TIMING, regionLossFigures } from '../lib/sandbox/demo/figures.ts';
import { runDemo } from '../lib/sandbox/demo/scenario.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import type { Figure } from './report.ts';

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runRunbookBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  // No --fast: every AWS timer as synthesized (awsTimeScale 1), real WAN latencies, real heartbeats.
  const sandbox = await Sandbox.start({ application: benchApplication, timing: REGION_LOSS_TIMING });
  try {
    const report = await runDemo(sandbox, { phaseMs: options.quick ? 3_000 : 8_000, log: () => {} });
    // Shared with `multiactive drill region-loss`, whose report must state the same figures.
    return regionLossFigures(report, sandbox.topology);
  } finally {
    await sandbox.stop();
  }
}
