/**
 * Failover measured in the sandbox: a region is killed while clients near every region write; figures are
 * taken from the demo scenario run with real inter-region latencies and health checks compressed to a 1 s
 * interval with failure threshold 2 (the reference setting).
 */
import '../lib/sandbox/polyfills.ts';
import { REGION_LOSS_TIMING, regionLossFigures } from '../lib/sandbox/demo/figures.ts';
import { runDemo } from '../lib/sandbox/demo/scenario.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import type { Figure } from './report.ts';

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runRunbookBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const sandbox = await Sandbox.start({
    fast: true,
    timing: REGION_LOSS_TIMING,
  });
  try {
    const report = await runDemo(sandbox, { phaseMs: options.quick ? 3_000 : 8_000, log: () => {} });
    // Shared with `multiactive drill region-loss`, whose report must state the same figures.
    return regionLossFigures(report);
  } finally {
    await sandbox.stop();
  }
}
