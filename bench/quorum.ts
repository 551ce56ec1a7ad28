/**
 * Quorum ack at the physical floor: the latency a core write pays for `core.ack: 'quorum'` over `'local'`,
 * as a ratio to the RTT to the nearest majority (the `peersNeeded`-th nearest peer of the home, from the
 * topology's latencyMs). Two sandboxes of env prod with real WAN latencies, one per ack mode (`coreAck`
 * overrides the mode at run time; stacks, auth and latencies are the same). In each, accounts are opened
 * at every region's own API (it claims their partitions, so it is their home), then deposits are sent one
 * after another to the home's API and timed at the client. With `traceStages`, the quorum sandbox also
 * times the quorum ack itself (`replicateBeforeAck`) and each call it makes to a peer's tables.
 */
import '../lib/sandbox/polyfills.ts';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { peersNeeded } from '../lib/commands/quorum-ack.ts';
import { regionNames, type Topology } from '../lib/config/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { ackRatio, nearestMajorityRttMs } from './quorum-floor.ts';
import { postToRegion } from './region-post.ts';
import { type Figure, percentile, round } from './report.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The ratio the issue asks for at most. */
const TARGET_RATIO = 1.2;

interface ModeRun {
  /** The sandbox process's event-loop delay while measuring (every region shares one loop). */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number };
  readonly ack: string;
  readonly topology: Topology;
  /** Client-side latencies of acknowledged deposits, per home region. */
  readonly latencies: ReadonlyMap<string, number[]>;
  readonly failed: number;
  /** The trace's step durations (quorum ack, peer calls). */
  readonly steps: ReadonlyMap<string, readonly number[]>;
}

/** Opens `count` accounts at `region`'s own API (retried: a first write claims the partition). */
async function openAccounts(sandbox: Sandbox, region: string, count: number): Promise<string[]> {
  const opened: string[] = [];
  for (let k = 0; k < count; k++) {
    const id = `q-${region}-${k}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const status = await postToRegion(sandbox, region, `/v1/account/${id}/commands`, {
        type: 'OpenAccount',
        payload: { owner: id, currency: 'EUR' },
      });
      if (status === 200) {
        opened.push(id);
        break;
      }
      await sleep(500);
    }
  }
  return opened;
}

async function runMode(coreAck: 'local' | 'quorum', writesPerHome: number): Promise<ModeRun> {
  const sandbox = await Sandbox.start({
    application: benchApplication,
    env: 'prod',
    coreAck,
    traceStages: true,
  });
  try {
    await sleep(1_000);
    const regions = regionNames(sandbox.topology);
    const accounts = new Map(
      await Promise.all(regions.map(async (r) => [r, await openAccounts(sandbox, r, 3)] as const)),
    );
    const deposit = (region: string, id: string) =>
      postToRegion(sandbox, region, `/v1/account/${id}/commands`, {
        type: 'Deposit',
        payload: { amount: 1 },
      });
    // One write each first: leases and caches warm, as at steady load.
    await Promise.all(
      regions.map(async (region) => {
        for (const id of accounts.get(region)!) await deposit(region, id);
      }),
    );
    await sleep(500);
    sandbox.stages?.reset();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const latencies = new Map<string, number[]>();
    let failed = 0;
    for (const region of regions) {
      const ids = accounts.get(region)!;
      const list: number[] = [];
      for (let i = 0; i < writesPerHome && ids.length > 0; i++) {
        const began = performance.now();
        const status = await deposit(region, ids[i % ids.length]!);
        if (status === 200) list.push(performance.now() - began);
        else failed++;
        await sleep(20);
      }
      latencies.set(region, list);
    }
    loop.disable();
    return {
      eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6 },
      ack: sandbox.topology.core.ack,
      topology: sandbox.topology,
      latencies,
      failed,
      steps: new Map(sandbox.stages?.steps() ?? []),
    };
  } finally {
    await sandbox.stop();
  }
}

const p = (values: readonly number[] | undefined, q: number) => percentile(values ?? [], q);

/** Runs the bench; ignores `endpoint` (it starts its own sandboxes, one per ack mode). */
export async function runQuorumBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const writes = options.quick ? 15 : 30;
  const loadBefore = loadavg()[0]!;
  const local = await runMode('local', writes);
  const quorum = await runMode('quorum', writes);
  if (local.ack !== 'local' || quorum.ack !== 'quorum')
    throw new Error(`expected core.ack local, then quorum; got ${local.ack} / ${quorum.ack}`);
  const loadAfter = loadavg()[0]!;
  const figures: Figure[] = [];
  const ratios: { p50: number[]; p99: number[] } = { p50: [], p99: [] };
  for (const home of regionNames(quorum.topology)) {
    const rtt = nearestMajorityRttMs(quorum.topology, home);
    const [l, q] = [local.latencies.get(home), quorum.latencies.get(home)];
    const step = quorum.steps.get(`quorum ack ${home}`);
    const ref = (figure: string, value: number, unit = 'ms'): Figure => ({
      figure: `${home}: ${figure}`,
      value: round(value),
      unit,
      target: 'reference',
      met: null,
    });
    figures.push(
      ref(
        `RTT to the nearest majority (${peersNeeded(quorum.topology.regions.length)} peer(s), topology)`,
        rtt,
      ),
      ref(`core write latency p50, ack local (${l?.length ?? 0} writes)`, p(l, 50)),
      ref(`core write latency p50, ack quorum (${q?.length ?? 0} writes)`, p(q, 50)),
      ref('core write latency p99, ack local', p(l, 99)),
      ref('core write latency p99, ack quorum', p(q, 99)),
      ref(`quorum ack step (replicateBeforeAck, in process) p50 (${step?.length ?? 0})`, p(step, 50)),
      ref('quorum ack step p99', p(step, 99)),
      ref('API handler time p50 (in process), ack local', p(local.steps.get(`api ${home}`), 50)),
      ref('API handler time p50 (in process), ack quorum', p(quorum.steps.get(`api ${home}`), 50)),
    );
    // The home's store calls during its writes, per mode (what else than the copy grows with quorum).
    const calls = [...quorum.steps.keys()].filter(
      (k) => /^(events|states) /.test(k) && k.startsWith(`${k.split(' ')[0]} ${home}.`),
    );
    for (const call of calls.sort()) {
      const [l50, q50] = [p(local.steps.get(call), 50), p(quorum.steps.get(call), 50)];
      figures.push({
        figure: `${home}: home ${call.split(' ')[0]} store ${call.slice(call.indexOf('.') + 1)} p50 (${quorum.steps.get(call)?.length ?? 0} calls), local / quorum`,
        value: round(l50),
        unit: `ms / ${round(q50)} ms`,
        target: 'reference',
        met: null,
      });
    }
    for (const q of ['p50', 'p99'] as const) {
      const pct = q === 'p50' ? 50 : 99;
      const ratio = ackRatio(p(quorum.latencies.get(home), pct), p(local.latencies.get(home), pct), rtt);
      ratios[q].push(ratio);
      figures.push({
        figure: `${home}: (quorum − local) ÷ RTT to nearest majority, ${q}`,
        value: round(ratio),
        unit: '×',
        target: `<= ${TARGET_RATIO}`,
        met: ratio <= TARGET_RATIO,
      });
    }
    figures.push(ref('quorum ack step p50 ÷ RTT to nearest majority', p(step, 50) / rtt, '×'));
  }
  for (const [name, values] of [...quorum.steps].filter(([n]) => n.startsWith('quorum call ')).sort()) {
    figures.push({
      figure: `${name.slice('quorum call '.length)}: peer call p50 / p99 (${values.length} calls; RTT + peer DynamoDB)`,
      value: round(p(values, 50)),
      unit: `ms / ${round(p(values, 99))} ms`,
      target: 'reference',
      met: null,
    });
  }
  for (const q of ['p50', 'p99'] as const) {
    const worst = Math.max(...ratios[q]);
    figures.push({
      figure: `(quorum − local) ÷ RTT to nearest majority, ${q}, worst home`,
      value: round(worst),
      unit: '×',
      target: `<= ${TARGET_RATIO}`,
      met: worst <= TARGET_RATIO,
    });
  }
  for (const run of [local, quorum])
    figures.push({
      figure: `sandbox event-loop delay p50 / p99 while measuring, ack ${run.ack}`,
      value: round(run.eventLoopDelayMs.p50),
      unit: `ms / ${round(run.eventLoopDelayMs.p99)} ms`,
      target: 'reference',
      met: null,
    });
  figures.push(
    {
      figure: 'load average (1 min) before the run',
      value: round(loadBefore),
      unit: '',
      target: 'reference',
      met: null,
    },
    {
      figure: 'load average (1 min) after the run',
      value: round(loadAfter),
      unit: '',
      target: 'reference',
      met: null,
    },
  );
  figures.push({
    figure: 'core writes refused or failed while measuring (local + quorum)',
    value: local.failed + quorum.failed,
    unit: 'writes',
    target: '0',
    met: local.failed + quorum.failed === 0,
  });
  return figures;
}
