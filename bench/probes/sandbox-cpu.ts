/**
 * Probe for issue 15: where the sandbox's CPU goes per replicated event. Starts the sandbox bench's
 * three-region sandbox (same application, stage tracing and write load), and `runs` times over: writes for
 * `seconds`, waits for the events to be applied, and reports the CPU per applied event of this process and
 * of each DynamoDB Local JVM, the DynamoDB requests per applied event by caller and operation, and (the
 * write window only, through the inspector) this process's CPU profile: self time grouped by area and the
 * top frames. Medians over the runs at the end. On a busy host few events get through and the fixed
 * background (polls, heartbeats, health checks) dominates a per-event figure: each run first measures the
 * CPU rate of an idle window (no writes) and also reports the marginal CPU per event (window less idle).
 *
 *   node --import tsx bench/probes/sandbox-cpu.ts [runs=3] [seconds=8] [profile-dir]
 */
import '../../lib/sandbox/polyfills.ts';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from '../application.ts';
import { dynamoLocalPid, pipelineCost, processCpuMs } from '../pipeline-cost.ts';
import { writeSteadily } from '../sandbox.ts';

const runs = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const profileDir = process.argv[4];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame's self time belongs to, from its script. */
function areaOf(frame: Node['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'program (native, unattributed)';
  if (url.includes('/@smithy/signature-v4') || url.includes('/@aws-crypto/')) return 'SDK: SigV4 signing';
  if (url.includes('/@aws-sdk/') || url.includes('/@smithy/')) {
    if (/serde|protocol|marshall|json|core\/dist-cjs\/submodules\/protocols/i.test(url))
      return 'SDK: (de)serialisation';
    if (/util-dynamodb|lib-dynamodb/.test(url)) return 'SDK: DynamoDB (un)marshalling';
    return 'SDK: client, middleware, other';
  }
  if (url.includes('/@cloud-copilot/')) return 'IAM simulation (@cloud-copilot)';
  if (url.includes('/lib/sandbox/iam/')) return 'sandbox IAM (mapping, counting)';
  if (url.includes('/lib/sandbox/platform/stage-trace')) return 'sandbox stage trace (bench only)';
  if (/\/lib\/sandbox\/(eventbridge|wan|streams|sqs)\//.test(url)) return 'sandbox bus/WAN/poller emulation';
  if (url.includes('/lib/sandbox/')) return 'sandbox other (platform, API Gateway, auth)';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('/@aws-lambda-powertools/logger') || /\/lib\/.*log/.test(url)) return 'logging';
  if (url.includes('/@middy/')) return 'middy';
  if (/\/lib\/(replication|store)\//.test(url)) return 'lib replication + store';
  if (url.includes('/lib/')) return 'lib other';
  if (url.includes('/functions/')) return 'functions (handlers)';
  if (url.includes('/bench/')) return 'bench client';
  if (url.includes('/node_modules/'))
    return `other package ${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]}`;
  if (url.startsWith('node:') || url === '') return `node core${url ? '' : ' (native)'}`;
  return 'other';
}

/** Self time (ms) per area and per frame over the profile. */
function selfTimes(profile: Profile): { areas: Map<string, number>; frames: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const areas = new Map<string, number>();
  const frames = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^.*\/(node_modules|lib|functions|bench)\//, '$1/');
    const frame = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    frames.set(frame, (frames.get(frame) ?? 0) + ms);
  });
  return { areas, frames };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function main() {
  const sandbox = await Sandbox.start({ application: benchApplication, traceStages: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  const collected = new Map<string, number[]>();
  const areaTotals = new Map<string, number[]>();
  const frameTotals = new Map<string, number>();
  try {
    await sleep(2_000);
    const jvmPids = sandbox.regions.map((r) => dynamoLocalPid(Number(new URL(r.endpoint).port)));
    const cpuNow = () => {
      const node = process.cpuUsage();
      return {
        at: performance.now(),
        node: (node.user + node.system) / 1000,
        jvm: jvmPids.reduce<number>((n, pid) => n + (pid === undefined ? 0 : (processCpuMs(pid) ?? 0)), 0),
      };
    };
    for (let run = 0; run < runs; run++) {
      const idleFrom = cpuNow();
      await sleep((seconds * 1000) / 2);
      const idleTo = cpuNow();
      const idleRate = {
        node: (idleTo.node - idleFrom.node) / (idleTo.at - idleFrom.at),
        jvm: (idleTo.jvm - idleFrom.jvm) / (idleTo.at - idleFrom.at),
      };
      const windowFrom = cpuNow();
      sandbox.lag.reset();
      sandbox.stages?.reset();
      await session.post('Profiler.start');
      const cost = pipelineCost(sandbox.regions, () => sandbox.iam.usageRows());
      const until = Date.now() + seconds * 1000;
      await Promise.all(
        sandbox.regions.map((r) => writeSteadily(sandbox.apiClient, r.apiUrl, r.name, until)),
      );
      await sleep(1_500);
      const applied = sandbox.lag
        .links(sandbox.regions.map((r) => r.name))
        .reduce((n, l) => n + l.samples, 0);
      const figures = cost.stop(applied);
      const windowTo = cpuNow();
      const span = windowTo.at - windowFrom.at;
      const marginal = (used: number, rate: number) =>
        Math.round(((used - rate * span) / Math.max(1, applied)) * 100) / 100;
      figures.unshift(
        {
          figure: `marginal: Node CPU per applied event, idle rate (${(idleRate.node * 1000).toFixed(0)} ms/s) subtracted`,
          value: marginal(windowTo.node - windowFrom.node, idleRate.node),
          unit: 'ms',
          target: 'reference',
          met: null,
        },
        {
          figure: `marginal: JVM CPU per applied event, three JVMs, idle rate (${(idleRate.jvm * 1000).toFixed(0)} ms/s) subtracted`,
          value: marginal(windowTo.jvm - windowFrom.jvm, idleRate.jvm),
          unit: 'ms',
          target: 'reference',
          met: null,
        },
      );
      const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
      if (profileDir)
        writeFileSync(join(profileDir, `sandbox-cpu-${run}.cpuprofile`), JSON.stringify(profile));
      console.log(`\nrun ${run + 1}: ${applied} applied`);
      for (const f of figures) {
        console.log(`  ${f.value}\t${f.unit}\t${f.figure}`);
        const key = f.figure.replace(/; \d+ applied/, '').replace(/ \(\d+ ms\/s\)/, '');
        collected.set(key, [...(collected.get(key) ?? []), f.value]);
      }
      const { areas, frames } = selfTimes(profile);
      const perEvent = (ms: number) => ms / Math.max(1, applied);
      // An area absent from a run counts 0 in it (a one-off, such as IAM's first decisions, is not a median).
      for (const area of new Set([...areas.keys(), ...areaTotals.keys()]))
        areaTotals.set(area, [
          ...(areaTotals.get(area) ?? Array.from({ length: run }, () => 0)),
          perEvent(areas.get(area) ?? 0),
        ]);
      for (const [frame, ms] of frames) frameTotals.set(frame, (frameTotals.get(frame) ?? 0) + ms);
      await sandbox.quiesce(30_000);
    }
  } finally {
    await session.post('Profiler.disable');
    session.disconnect();
    await sandbox.stop();
  }
  console.log(`\nmedians over ${runs} runs`);
  for (const [figure, values] of [...collected].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    console.log(`  ${median(values)}\t${figure}`);
  console.log('\nprofile: self time per applied event by area (ms, median)');
  for (const [area, values] of [...areaTotals].sort((a, b) => median(b[1]) - median(a[1])))
    console.log(`  ${median(values).toFixed(3)}\t${area}`);
  const all = [...frameTotals.values()].reduce((a, b) => a + b, 0);
  console.log('\nprofile: top 15 frames by self time (all runs, share of samples, idle included)');
  for (const [frame, ms] of [...frameTotals].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${((100 * ms) / all).toFixed(1)} %\t${frame}`);
}

await main();
