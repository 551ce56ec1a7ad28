import { cpus } from 'node:os';
import type { Application } from '../../app/index.ts';
import { BUG_SWITCHES, type BugSwitch, bugEnabled } from '../../faults/index.ts';
import {
  type Anomaly,
  byKey,
  checkStranded,
  type HistoryRecorder,
  pairOperations,
  readSnapshot,
} from '../../verify/index.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import type { ApplierGate } from './applier-gate.ts';
import { perform } from './clients.ts';
import { FAULTS_TODO, faultKindsFor, type InjectedFault, partitionsOf, runNemesis } from './nemesis.ts';
import type { ChaosClientContext, ChaosPlugin } from './plugin.ts';
import { seededRandom } from './random.ts';
import type { ChaosFigure, ChaosOptions, ChaosReport } from './run.ts';
import { RunbookStarter } from './runbook-starter.ts';
import { evidence, inconsistencies, refusals, settledLater } from './verify-run.ts';

/** What a plug-in run carries from the clients to the checkers. */
export interface PluginDrive {
  readonly workload: unknown;
  readonly faults: InjectedFault[];
  readonly runbooks: RunbookStarter;
}

/** A client context for the plug-in: `send` goes through the front door and records in the history. */
function contextFor(
  sandbox: Sandbox,
  input: {
    history: HistoryRecorder;
    region: string;
    process: string;
    random: () => number;
    until: number;
    /** `prepare` may send requests concurrently: each gets a process of its own in the history. */
    concurrent?: boolean;
  },
  tag: string,
): ChaosClientContext {
  let turn = 0;
  const regions = sandbox.regions.map((r) => r.name);
  const client = {
    client: sandbox.apiClient,
    frontDoor: sandbox.gtm.frontDoorUrl,
    from: input.region,
    process: input.process,
    history: input.history,
    timeoutMs: 3_000,
  };
  return {
    region: input.region,
    regions,
    process: input.process,
    random: input.random,
    running: () => Date.now() < input.until,
    async send(request) {
      const n = turn++;
      const process = input.concurrent ? `${input.process}/${n}` : input.process;
      const opId = `${tag}:${process}:${n}`;
      const from = request.from ?? input.region;
      return { ...(await perform({ ...client, from, process }, request, opId)), opId };
    },
  };
}

/**
 * Runs an application's chaos plug-in: `prepare` from the first region, then its clients near every
 * region and the nemesis until the time is up.
 */
export async function drivePlugin(
  sandbox: Sandbox,
  input: { plugin: ChaosPlugin; options: ChaosOptions; history: HistoryRecorder; gate: ApplierGate },
): Promise<PluginDrive> {
  const { plugin, options, history, gate } = input;
  const log = options.log ?? (() => {});
  const tag = `s${options.seed}-${Date.now().toString(36)}`;
  const names = sandbox.regions.map((r) => r.name);
  const prepared = await plugin.prepare(
    contextFor(
      sandbox,
      {
        history,
        region: names[0]!,
        process: 'prepare',
        random: seededRandom(options.seed * 31 + 7),
        until: Date.now() + 60_000,
        concurrent: true,
      },
      tag,
    ),
  );
  const perRegion = options.clientsPerRegion ?? plugin.clientsPerRegion ?? 3;
  log(
    `${plugin.name}: prepared ${prepared.ids.length} aggregates; ${perRegion} clients per region and nemesis start (seed ${options.seed})`,
  );
  const started = Date.now();
  const until = started + options.seconds * 1_000;
  const faults: InjectedFault[] = [];
  const runbooks = new RunbookStarter(sandbox, started);
  const clients = names.flatMap((region, r) =>
    Array.from({ length: perRegion }, (_, i) => {
      const random = seededRandom(options.seed * 7919 + r * 31 + i);
      const ctx = contextFor(sandbox, { history, region, process: `${region}/c${i}`, random, until }, tag);
      return plugin.client(ctx, prepared.workload);
    }),
  );
  await Promise.all([
    ...clients,
    runNemesis(sandbox, {
      random: seededRandom(options.seed),
      kinds: faultKindsFor(sandbox.topology),
      until,
      started,
      faults,
      gate,
      runbooks,
      partitions: partitionsOf(sandbox, prepared.ids),
      log,
    }),
  ]);
  if (plugin.finale) {
    log(`${plugin.name}: finale`);
    const ctx = contextFor(
      sandbox,
      {
        history,
        region: names[0]!,
        process: 'finale',
        random: seededRandom(options.seed * 31 + 11),
        until: Date.now() + 30_000,
        concurrent: true,
      },
      tag,
    );
    await plugin.finale(ctx, prepared.workload);
  }
  log('healing and quiescing');
  gate.resumeAll();
  return { workload: prepared.workload, faults, runbooks };
}

const zero = (figure: string, value: number): ChaosFigure => ({
  figure,
  value,
  unit: 'count',
  target: '0',
  met: value === 0,
});
const count = (figure: string, value: number): ChaosFigure => ({
  figure,
  value,
  unit: 'count',
  target: '-',
  met: null,
});

/**
 * After heal: reads every region, runs the platform's own checks (every row the same in every region,
 * nothing quarantined, parked or dead-lettered) and the plug-in's checker; builds the run's report.
 */
export async function verifyPluginRun(
  sandbox: Sandbox,
  input: {
    application: Application;
    plugin: ChaosPlugin;
    options: ChaosOptions;
    history: HistoryRecorder;
    drive: PluginDrive;
    afterRun: ChaosReport['runbooksAfterRun'];
  },
): Promise<ChaosReport> {
  const { plugin, options, drive } = input;
  const ops = pairOperations(input.history.events());
  const regions = await Promise.all(
    sandbox.regions.map((r) => readSnapshot({ region: r.name, doc: r.clients.doc, tables: r.stores.tables })),
  );
  const deadLetters = Object.fromEntries(
    sandbox.regions.map((r) => [r.name, r.deadLetters.length + r.streamDeadLetters.length]),
  );
  const stranded = checkStranded({ regions, deadLetters, explain: settledLater(regions) });
  const consistency = await sandbox.check();
  const own = await plugin.check({ workload: drive.workload, operations: ops, regions });
  const anomalies: Anomaly[] = [...stranded.anomalies, ...own.anomalies];
  if (!consistency.passed) anomalies.push(...inconsistencies(consistency));
  const tally = (o: string) => ops.filter((op) => op.outcome === o).length;
  const runbookRuns = [...drive.faults.flatMap((f) => f.runbooks ?? []), ...input.afterRun];
  const figures: ChaosFigure[] = [
    count('operations', ops.length),
    count('operations ok', tally('ok')),
    count('operations failed (definite)', tally('fail')),
    count('operations indeterminate (info)', tally('info')),
    count('faults injected', drive.faults.length),
    count('runbook executions (during faults, and Failbacks after the run)', runbookRuns.length),
    count('runbook executions succeeded', runbookRuns.filter((r) => r.status === 'SUCCEEDED').length),
    zero('anomalies: stranded (quarantine, parked, dead letters)', stranded.anomalies.length),
    zero(
      'anomalies: rows that differ between regions',
      consistency.passed ? 0 : consistency.diverged.length || 1,
    ),
    ...Object.entries(own.figures ?? {}).map(([name, value]) => count(`${plugin.name}: ${name}`, value)),
    zero(`anomalies: ${plugin.name} checker`, own.anomalies.length),
  ];
  const bugs = (Object.keys(BUG_SWITCHES) as BugSwitch[]).filter((name) => bugEnabled(name));
  return {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version },
    figures,
    seed: options.seed,
    seconds: options.seconds,
    env: sandbox.topology.name,
    workload: plugin.name,
    ackMode: sandbox.topology.core.ack,
    fencingDisabled: options.disableFencing ?? false,
    bugs,
    operations: { total: ops.length, ok: tally('ok'), fail: tally('fail'), info: tally('info') },
    faults: drive.faults,
    runbooksAfterRun: input.afterRun,
    faultsNotInjected: FAULTS_TODO,
    anomalies,
    checks: {
      [plugin.name]: own.figures ?? {},
      stranded: { quarantined: stranded.quarantined },
      consistency: consistency.verdict,
      refusals: refusals(ops),
    },
    evidence: evidence(anomalies, byKey(ops), regions),
    ...(options.keepHistory ? { history: ops } : {}),
    passed: anomalies.length === 0,
  };
}
