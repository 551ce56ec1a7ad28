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
}

/** Seeds `target` more events the lagging region lacks, then runs Repair and checks every region agrees. */
async function measure(sandbox: Sandbox, target: number): Promise<Measured> {
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
  const execution = await sandbox.runStateMachine(RUNS_IN, 'Repair', {});
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
  return { target, seeded, seedMs, missed, elapsed, healed, report, stages };
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
    ...REPAIR_STAGES.map((stage) => ({
      figure: `${label}: stage ${stage}, summed over the Map's concurrent iterations`,
      value: round(m.stages[stage].ms, 0),
      unit: `ms (${m.stages[stage].calls} calls)`,
      target: 'reference',
      met: null,
    })),
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
    const measured: Measured[] = [];
    for (const size of sizes) measured.push(await measure(sandbox, size));
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
    ];
  } finally {
    await sandbox.stop();
  }
}
