/**
 * Repair measured in the sandbox: one region misses N events (10,000 then 100,000 more; 1,000 then 10,000
 * with --quick), and each time the synthesized Repair state machine heals it, with real inter-region
 * latencies. The events are the example bank's core accounts (opened, then deposited into) and important
 * profiles (renamed), decided by their deciders and seeded straight into the two writer regions' tables
 * (bench/repair-seed.ts: BatchWriteItem, timed apart); the lagging region misses them as if every delivery
 * had dead-lettered. The writers' stream pollers are stopped while they are seeded and start again at LATEST
 * (`withoutPublishing`), so the seeded records are never published (before, the 100,000 run was still
 * publishing its 200,000 writes, to no one, when its Repair should have started); the forwarding rules
 * between regions are removed too, so nothing written meanwhile reaches the lagging region. Linear growth shows as time(large) / time(small) near large / small.
 */
import '../lib/sandbox/polyfills.ts';
import { loadavg } from 'node:os';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forwardRuleName } from '../cdk/naming.ts';
import { REPAIR_STAGES, repairStageTotals, resetRepairStageTotals } from '../lib/runbooks/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { type SeedScript, seedScripts, withoutPublishing } from './repair-seed.ts';
import { type Figure, round } from './report.ts';

/** The region that misses the events and the region the runbook runs in (where a nightly schedule would). */
const LAGGING = 'ap-southeast-1';
const RUNS_IN = 'us-east-1';
const WRITERS = ['us-east-1', 'eu-west-1'];
/** Events per account (OpenAccount + deposits) and per profile (display names). */
const PER_ACCOUNT = 10;
const PER_PROFILE = 5;

interface RepairReport {
  partitionsChecked: number;
  partitionsDiffering: number;
  bucketsDiffering: number;
  eventsReplayed: number;
  rowsRebuilt: number;
  eventsRefused: number;
  partitionsFailed: unknown[];
  durationMs: number;
}

/** About `total` events, half accounts and half profiles (spread over the writers), under fresh ids. */
function scriptsOf(total: number, run: string): SeedScript[] {
  const account = benchApplication.aggregates.find((a) => a.name === 'account')!;
  const profile = benchApplication.aggregates.find((a) => a.name === 'profile')!;
  const scripts: SeedScript[] = [];
  for (let i = 0; i < Math.ceil(total / 2 / PER_ACCOUNT); i++)
    scripts.push({
      aggregate: account,
      aggregateId: `rb-${run}-a${i}`,
      // Core accounts are written in their home (one region): no forwarding.
      origin: WRITERS[0]!,
      commands: [
        { type: 'OpenAccount', payload: { owner: `o${i}`, currency: 'EUR' } },
        ...Array.from({ length: PER_ACCOUNT - 1 }, (_, d) => ({
          type: 'Deposit',
          payload: { amount: d + 1 },
        })),
      ],
    });
  for (let i = 0; i < Math.ceil(total / 2 / PER_PROFILE); i++)
    scripts.push({
      aggregate: profile,
      aggregateId: `rb-${run}-p${i}`,
      origin: WRITERS[i % WRITERS.length]!,
      commands: Array.from({ length: PER_PROFILE }, (_, n) => ({
        type: 'SetDisplayName',
        payload: { displayName: `p${i}-${n}` },
      })),
    });
  return scripts;
}

/** DynamoDB calls on one region's tables, by command: count and summed ms (queueing in the SDK included). */
type CallTimes = Map<string, { n: number; ms: number }>;

/** Times every call of `doc` into `into` (installed once; the bench clears the map per size). */
function timeCalls(doc: DynamoDBDocumentClient, into: CallTimes): void {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        const name = context.commandName ?? 'unknown';
        const c = into.get(name) ?? { n: 0, ms: 0 };
        c.n++;
        c.ms += performance.now() - started;
        into.set(name, c);
      }
    },
    { step: 'initialize', name: 'repairBenchCallTiming' },
  );
}

/**
 * What the machine gave the run, besides the Repair's own work: this process's CPU time, the 1-minute load
 * average sampled every second, and the lagging region's DynamoDB calls. The time ratio alone cannot tell a
 * superlinear term from a busier machine (other processes share the two cores): calls per event and CPU
 * per event at both sizes say whether the work grew faster than the events.
 */
interface Resources {
  readonly cpuMs: number;
  readonly loadMean: number;
  readonly calls: number;
  readonly callMs: number;
  readonly byCommand: Record<string, { n: number; ms: number }>;
}

/** Runs `work` while recording Resources (`calls` is the lagging region's call map, cleared first). */
async function withResources<T>(calls: CallTimes, work: () => Promise<T>): Promise<[T, Resources]> {
  calls.clear();
  const loads: number[] = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 1_000);
  sampler.unref();
  const cpu = process.cpuUsage();
  try {
    const result = await work();
    const used = process.cpuUsage(cpu);
    const all = [...calls.values()];
    return [
      result,
      {
        cpuMs: (used.user + used.system) / 1000,
        loadMean: loads.reduce((a, b) => a + b, 0) / loads.length,
        calls: all.reduce((n, c) => n + c.n, 0),
        callMs: all.reduce((n, c) => n + c.ms, 0),
        byCommand: Object.fromEntries(calls),
      },
    ];
  } finally {
    clearInterval(sampler);
  }
}

/** What one size measured. */
interface Measured {
  readonly target: number;
  readonly seeded: number;
  readonly seedMs: number;
  readonly missed: number;
  readonly elapsed: number;
  readonly healed: boolean;
  readonly report: RepairReport | undefined;
  readonly stages: ReturnType<typeof repairStageTotals>;
  readonly resources: Resources;
}

/** Seeds `target` more events the lagging region lacks, then runs Repair and checks every region agrees. */
async function measure(sandbox: Sandbox, target: number, calls: CallTimes): Promise<Measured> {
  const into = WRITERS.map((name) => {
    const region = sandbox.region(name);
    return { name, doc: region.clients.doc, tables: region.stores.tables };
  });
  const phase = performance.now();
  const seeded = await withoutPublishing(sandbox, WRITERS, () =>
    seedScripts(scriptsOf(target, `${target}${Date.now().toString(36)}`), {
      topology: sandbox.topology,
      into,
    }),
  );
  const seedMs = performance.now() - phase;
  await sandbox.quiesce(600_000);
  console.error(`repair bench: ${seeded} events seeded in ${round(seedMs, 0)} ms`);
  const before = await sandbox.check();
  const missed = (before.events[WRITERS[0]!] ?? 0) - (before.events[LAGGING] ?? 0);

  resetRepairStageTotals();
  const started = performance.now();
  const [execution, resources] = await withResources(calls, () =>
    sandbox.runStateMachine(RUNS_IN, 'Repair', {}),
  );
  const elapsed = performance.now() - started;
  const stages = repairStageTotals();
  const report = (execution.output as { report?: RepairReport } | undefined)?.report;
  const after = await sandbox.check();
  const healed = execution.status === 'SUCCEEDED' && after.missingEvents === 0 && after.passed;
  if (execution.status !== 'SUCCEEDED')
    console.error(`Repair ${execution.status}: ${execution.error} ${execution.cause}`);
  if (!after.passed) console.error(`after repair: ${after.verdict}`);
  console.error(
    `repair bench: ${missed} missed events healed in ${round(elapsed, 0)} ms (healed: ${healed})`,
  );
  return { target, seeded, seedMs, missed, elapsed, healed, report, stages, resources };
}

/** The figures of one size: seeding, the execution, its report, its stages. */
function figuresOf(m: Measured, quick: boolean): Figure[] {
  const label = `${m.target.toLocaleString('en')}${quick ? ' (quick)' : ''}`;
  const small = m.target <= 10_000;
  return [
    {
      figure: `${label}: events seeded into both writers (BatchWriteItem, not in the repair time)`,
      value: round(m.seedMs, 0),
      unit: `ms (${m.seeded} events)`,
      target: 'reference',
      met: null,
    },
    {
      figure: `${label}: events missed by ${LAGGING} before repair`,
      value: m.missed,
      unit: 'events',
      target: `>= ${m.target}`,
      met: m.missed >= m.target,
    },
    {
      figure: `${label}: Repair state machine execution healing the missed events (real WAN latencies)`,
      value: round(m.elapsed, 0),
      unit: 'ms',
      target: small ? '< 30000 ms' : 'reference (linear: see the ratio)',
      met: small ? m.healed && m.elapsed < 30_000 : null,
    },
    {
      figure: `${label}: Repair report: partitions checked / buckets differing`,
      value: m.report?.bucketsDiffering ?? Number.NaN,
      unit: `buckets (${m.report?.partitionsChecked ?? '?'} partitions checked, ${m.report?.partitionsDiffering ?? '?'} differing)`,
      target: 'reference',
      met: null,
    },
    {
      figure: `${label}: Repair report: events replayed`,
      value: m.report?.eventsReplayed ?? Number.NaN,
      unit: 'events',
      target: `= events missed (${m.missed})`,
      met: m.report?.eventsReplayed === m.missed,
    },
    {
      figure: `${label}: Repair report: rows rebuilt / events refused`,
      value: m.report?.rowsRebuilt ?? Number.NaN,
      unit: `rows (${m.report?.eventsRefused ?? '?'} events refused)`,
      target: "0 (the batched rows are the logs' folds)",
      met: m.report?.rowsRebuilt === 0 && m.report?.eventsRefused === 0,
    },
    {
      figure: `${label}: all regions hold identical event sets and state rows after repair`,
      value: m.healed ? 1 : 0,
      unit: 'pass',
      target: '1',
      met: m.healed,
    },
    ...resourceFigures(label, m),
    ...REPAIR_STAGES.map((stage) => ({
      figure: `${label}: stage ${stage}, summed over the Map's concurrent iterations`,
      value: round(m.stages[stage].ms, 0),
      unit: `ms (${m.stages[stage].calls} calls)`,
      target: 'reference',
      met: null,
    })),
  ];
}

/** Per event: this process's CPU, the lagging region's DynamoDB calls and their latency; the machine's load. */
function resourceFigures(label: string, m: Measured): Figure[] {
  const r = m.resources;
  const events = Math.max(1, m.missed);
  const per = (command: string) => {
    const c = r.byCommand[command];
    return c ? `${command} ${round(c.ms / c.n, 1)} ms x ${c.n}` : `${command} none`;
  };
  return [
    {
      figure: `${label}: this process's CPU per missed event during the repair`,
      value: round(r.cpuMs / events, 3),
      unit: `ms/event (${round(r.cpuMs, 0)} ms in all)`,
      target: 'reference (about the same at both sizes when linear)',
      met: null,
    },
    {
      figure: `${label}: DynamoDB calls on ${LAGGING}'s tables per missed event`,
      value: round(r.calls / events, 3),
      unit: `calls/event (${r.calls} calls)`,
      target: 'reference (about the same at both sizes when linear)',
      met: null,
    },
    {
      figure: `${label}: mean latency of those calls (SDK queueing included)`,
      value: round(r.calls > 0 ? r.callMs / r.calls : 0, 1),
      unit: `ms (${['GetItem', 'Query', 'TransactWriteItems'].map((c) => per(`${c}Command`)).join('; ')})`,
      target: 'reference',
      met: null,
    },
    {
      figure: `${label}: 1-minute load average during the repair (2 cores; other processes included)`,
      value: round(r.loadMean, 1),
      unit: 'mean of samples every second',
      target: 'reference',
      met: null,
    },
  ];
}

/**
 * Whether the work grew faster than the events, apart from the machine: the growth of calls and of CPU per
 * event (1 when linear), and the time ratio divided by the growth of the mean call latency (what a busier
 * machine, or a slower DynamoDB Local, adds to every call alike).
 */
function growthFigures(small: Measured, large: Measured): Figure[] {
  const perEvent = (m: Measured, value: number) => value / Math.max(1, m.missed);
  const latency = (m: Measured) => m.resources.callMs / Math.max(1, m.resources.calls);
  const callGrowth =
    perEvent(large, large.resources.calls) / Math.max(1e-9, perEvent(small, small.resources.calls));
  const cpuGrowth =
    perEvent(large, large.resources.cpuMs) / Math.max(1e-9, perEvent(small, small.resources.cpuMs));
  const latencyGrowth = latency(large) / Math.max(1e-9, latency(small));
  const expected = large.target / small.target;
  return [
    {
      figure: 'calls per event (large / small): growth of the DynamoDB work per event',
      value: round(callGrowth, 2),
      unit: 'x',
      target: '<= 1.3',
      met: callGrowth <= 1.3,
    },
    {
      figure: "this process's CPU per event (large / small)",
      value: round(cpuGrowth, 2),
      unit: 'x',
      target: '<= 1.3',
      met: cpuGrowth <= 1.3,
    },
    {
      figure: 'time ratio normalised by the growth of the mean call latency',
      value: round(large.elapsed / small.elapsed / latencyGrowth, 2),
      unit: `x (events x${expected}; call latency x${round(latencyGrowth, 2)})`,
      target: 'reference (near the events ratio when the time grows only with the per-call cost)',
      met: null,
    },
  ];
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runRepairBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const sizes = options.quick ? [1_000, 10_000] : [10_000, 100_000];
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 1 },
  });
  try {
    const regions = sandbox.topology.regions.map((r) => r.name);
    for (const from of regions)
      for (const to of regions)
        if (from !== to) sandbox.region(from).bus.removeRule(forwardRuleName(sandbox.topology.name, to));
    const calls: CallTimes = new Map();
    timeCalls(sandbox.region(LAGGING).clients.doc, calls);
    const measured: Measured[] = [];
    for (const size of sizes) measured.push(await measure(sandbox, size, calls));
    const [small, large] = measured as [Measured, Measured];
    const ratio = large.elapsed / small.elapsed;
    const expected = large.target / small.target;
    return [
      ...measured.flatMap((m) => figuresOf(m, options.quick ?? false)),
      {
        figure: `time(${large.target.toLocaleString('en')}) / time(${small.target.toLocaleString('en')}): linear growth`,
        value: round(ratio, 2),
        unit: `x (events x${expected})`,
        target: `<= ${expected * 1.3} (linear, with 30% slack)`,
        met: small.healed && large.healed && ratio <= expected * 1.3,
      },
      ...growthFigures(small, large),
    ];
  } finally {
    await sandbox.stop();
  }
}
