/**
 * Sandbox replication pipeline overhead: steady writes in every region with real inter-region latencies
 * and the default poll settings (stream polled every 250 ms, as Lambda does); per link, the end-to-end
 * lag (HLC at the origin -> applied in the peer) minus the injected one-way link latency.
 */
import '../lib/sandbox/polyfills.ts';
import type { ApiClient } from '../lib/sandbox/auth/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { type Figure, round } from './report.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function writeSteadily(client: ApiClient, url: string, region: string, until: number): Promise<number> {
  let written = 0;
  for (let i = 0; Date.now() < until; i++) {
    const response = await client.fetch(`${url}/v1/profile/bench-${region}-${i % 20}/commands`, {
      method: 'POST',
      body: JSON.stringify({ type: 'SetDisplayName', payload: { displayName: `n${i}` } }),
    });
    await response.arrayBuffer();
    if (response.ok) written++;
    await sleep(25);
  }
  return written;
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runSandboxBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const sandbox = await Sandbox.start({ application: benchApplication });
  try {
    // Let start-up traffic (first heartbeats, claims) pass before measuring.
    await sleep(2_000);
    sandbox.lag.reset();
    const until = Date.now() + (options.quick ? 5_000 : 20_000);
    const written = await Promise.all(
      sandbox.regions.map((r) => writeSteadily(sandbox.apiClient, r.apiUrl, r.name, until)),
    );
    await sandbox.quiesce(30_000);
    const figures: Figure[] = [];
    let worst = 0;
    for (const link of sandbox.lag.links(sandbox.regions.map((r) => r.name))) {
      const injected = sandbox.wan.link(link.from, link.to).latencyMs * sandbox.timing.wanTimeScale;
      const p50 = (link.p50Ms ?? Number.NaN) - injected;
      const p99 = (link.p99Ms ?? Number.NaN) - injected;
      worst = Math.max(worst, p99);
      figures.push({
        figure: `sandbox pipeline overhead p50 ${link.from} -> ${link.to} (lag minus ${injected} ms link)`,
        value: round(p50),
        unit: 'ms',
        target: '-',
        met: null,
      });
      figures.push({
        figure: `sandbox pipeline overhead p99 ${link.from} -> ${link.to}`,
        value: round(p99),
        unit: 'ms',
        target: '< 250 ms',
        met: p99 < 250,
      });
    }
    const all = sandbox.lag.links(sandbox.regions.map((r) => r.name)).map((l) => l.samples);
    figures.push({
      figure: `sandbox pipeline overhead p99, worst link (${written.reduce((a, b) => a + b, 0)} writes, ${all.reduce((a, b) => a + b, 0)} applied)`,
      value: round(worst),
      unit: 'ms',
      target: '< 250 ms',
      met: worst < 250,
    });
    return figures;
  } finally {
    await sandbox.stop();
  }
}
