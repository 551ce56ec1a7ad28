/**
 * Repair measured in the sandbox: one region misses N events (10,000; 1,000 with --quick), then the
 * synthesized Repair state machine heals it. The events are real: commands through the regions' HTTP APIs
 * (core accounts and important profiles), replicated between the other regions by the real pipeline. The
 * lagging region misses them because the peers' forwarding rules to its bus are removed, as if every
 * delivery had dead-lettered. The repair runs with real inter-region latencies.
 */
import type { ApiClient } from '../lib/sandbox/auth/index.ts';
import '../lib/sandbox/polyfills.ts';
import { forwardRuleName } from '../cdk/naming.ts';
import { REPAIR_STAGES, repairStageTotals, resetRepairStageTotals } from '../lib/runbooks/index.ts';
import { Sandbox } from '../lib/sandbox/platform/sandbox.ts';
import { benchApplication } from './application.ts';
import { type Figure, round } from './report.ts';

/** The region that misses the events and the region the runbook runs in (where a nightly schedule would). */
const LAGGING = 'ap-southeast-1';
const RUNS_IN = 'us-east-1';
const WRITERS = ['us-east-1', 'eu-west-1'];
/** Events per account (OpenAccount + deposits) and per profile (display names). */
const PER_ACCOUNT = 10;
const PER_PROFILE = 5;
const CLIENTS = 32;

interface RepairReport {
  partitionsChecked: number;
  partitionsDiffering: number;
  bucketsDiffering: number;
  eventsReplayed: number;
  partitionsFailed: unknown[];
  durationMs: number;
}

/** Sends one command (with an idempotency key, so a retry after a lost answer cannot write twice). */
async function post(client: ApiClient, url: string, command: object, key: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const response = await client
      .fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...command, idempotencyKey: key }),
      })
      .catch((error: unknown) => error as Error);
    const status = response instanceof Error ? 0 : response.status;
    const body = response instanceof Error ? { error: response.message } : ((await response.json()) as Body);
    if (status === 200) return (body as Body).events?.length ?? 0;
    // A fresh partition's first write may race its claim or its lease start: retry those, fail the rest.
    const retryable = status === 0 || status >= 500 || status === 409 || status === 421;
    if (!retryable || attempt >= 60)
      throw new Error(`write failed: ${status} ${JSON.stringify(body)} (attempt ${attempt + 1})`);
    await new Promise((resolve) => setTimeout(resolve, 100 * Math.min(10, attempt + 1)));
  }
}

type Body = { events?: unknown[] };

/** One aggregate's commands: an account opened then deposited into, or a profile renamed. */
function scriptOf(kind: 'account' | 'profile', id: string): Array<{ path: string; command: object }> {
  if (kind === 'account')
    return [
      { path: `account/${id}`, command: { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } } },
      ...Array.from({ length: PER_ACCOUNT - 1 }, (_, i) => ({
        path: `account/${id}`,
        command: { type: 'Deposit', payload: { amount: i + 1 } },
      })),
    ];
  return Array.from({ length: PER_PROFILE }, (_, i) => ({
    path: `profile/${id}`,
    command: { type: 'SetDisplayName', payload: { displayName: `${id}-${i}` } },
  }));
}

/** Writes about `total` events, half accounts and half profiles, spread over the writer regions. */
async function writeEvents(sandbox: Sandbox, total: number): Promise<number> {
  const run = Date.now().toString(36);
  const aggregates: Array<{ region: string; steps: ReturnType<typeof scriptOf> }> = [];
  const accounts = Math.ceil(total / 2 / PER_ACCOUNT);
  const profiles = Math.ceil(total / 2 / PER_PROFILE);
  // Core accounts are written in one region (their home once it claims their partitions): no forwarding.
  for (let i = 0; i < accounts; i++)
    aggregates.push({ region: WRITERS[0]!, steps: scriptOf('account', `rb-${run}-a${i}`) });
  for (let i = 0; i < profiles; i++)
    aggregates.push({ region: WRITERS[i % WRITERS.length]!, steps: scriptOf('profile', `rb-${run}-p${i}`) });
  let written = 0;
  const client = async () => {
    for (let next = aggregates.shift(); next; next = aggregates.shift()) {
      const base = `${sandbox.region(next.region).apiUrl}/v1`;
      for (const [i, step] of next.steps.entries()) {
        const events = await post(
          sandbox.apiClient,
          `${base}/${step.path}/commands`,
          step.command,
          `${step.path}#${i}`,
        );
        written += events;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return written;
}

/** Runs the bench; ignores `endpoint` (it starts its own three-region sandbox). */
export async function runRepairBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  const target = options.quick ? 1_000 : 10_000;
  const label = options.quick ? `${target.toLocaleString('en')} (quick)` : target.toLocaleString('en');
  const sandbox = await Sandbox.start({
    application: benchApplication,
    fast: true,
    timing: { wanTimeScale: 1 },
  });
  try {
    for (const writer of WRITERS)
      sandbox.region(writer).bus.removeRule(forwardRuleName(sandbox.topology.name, LAGGING));
    // Writing is set-up, not the figure: a compressed WAN makes it quicker; the repair runs at real latency.
    sandbox.wan.setTimeScale(0.05);
    const phase = performance.now();
    const written = await writeEvents(sandbox, target);
    const wrote = performance.now();
    await sandbox.quiesce(120_000);
    console.error(
      `repair bench: ${written} events written in ${round(wrote - phase, 0)} ms, replicated in ${round(performance.now() - wrote, 0)} ms`,
    );
    const before = await sandbox.check();
    const missed = (before.events[WRITERS[0]!] ?? 0) - (before.events[LAGGING] ?? 0);
    sandbox.wan.setTimeScale(1);

    resetRepairStageTotals();
    const started = performance.now();
    const execution = await sandbox.runStateMachine(RUNS_IN, 'Repair', {});
    const elapsed = performance.now() - started;
    const report = (execution.output as { report?: RepairReport } | undefined)?.report;
    const after = await sandbox.check();
    const healed = execution.status === 'SUCCEEDED' && after.missingEvents === 0 && after.passed;
    if (execution.status !== 'SUCCEEDED')
      console.error(`Repair ${execution.status}: ${execution.error} ${execution.cause}`);
    if (!after.passed) console.error(`after repair: ${after.verdict}`);
    const stages = repairStageTotals();
    const stageRows: Figure[] = REPAIR_STAGES.map((stage) => ({
      figure: `Repair stage ${stage}: summed time over the Map's concurrent iterations (calls)`,
      value: round(stages[stage].ms, 0),
      unit: `ms (${stages[stage].calls} calls)`,
      target: 'reference',
      met: null,
    }));
    return [
      {
        figure: `events written (${label} asked) / missed by ${LAGGING} before repair`,
        value: missed,
        unit: `events (of ${written} written)`,
        target: `>= ${target}`,
        met: missed >= target,
      },
      {
        figure: `Repair state machine execution healing ${label} missed events (real WAN latencies)`,
        value: round(elapsed, 0),
        unit: 'ms',
        target: '< 30000 ms',
        met: healed && elapsed < 30_000,
      },
      {
        figure: 'Repair report: partitions checked',
        value: report?.partitionsChecked ?? Number.NaN,
        unit: 'partitions',
        target: 'reference',
        met: null,
      },
      {
        figure: 'Repair report: partitions differing / buckets differing',
        value: report?.bucketsDiffering ?? Number.NaN,
        unit: `buckets (in ${report?.partitionsDiffering ?? '?'} partitions)`,
        target: 'reference',
        met: null,
      },
      {
        figure: 'Repair report: events replayed',
        value: report?.eventsReplayed ?? Number.NaN,
        unit: 'events',
        target: `= events missed (${missed})`,
        met: report?.eventsReplayed === missed,
      },
      {
        figure: 'all regions hold identical event sets and state rows after repair',
        value: healed ? 1 : 0,
        unit: 'pass',
        target: '1',
        met: healed,
      },
      ...stageRows,
    ];
  } finally {
    await sandbox.stop();
  }
}
