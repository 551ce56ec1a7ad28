import { join } from 'node:path';
import { type Application, CONFIG_FILE, loadApplication } from '../../app/index.ts';
import { BUG_SWITCHES, type BugSwitch, bugEnabled, disableAllBugs, enableBugs } from '../../faults/index.ts';
import { type Anomaly, HistoryRecorder, type Operation } from '../../verify/index.ts';
import { PROJECT_ROOT } from '../cdk/templates.ts';
import { NoWorkloadError } from '../errors.ts';
import type { IamReport } from '../iam/index.ts';
import { Sandbox } from '../platform/sandbox.ts';
import { ApplierGate } from './applier-gate.ts';
import { type ClientContext, openAccount, runClient, type Workload } from './clients.ts';
import { faultKindsFor, type InjectedFault, partitionsOf, runNemesis } from './nemesis.ts';
import type { ChaosPlugin } from './plugin.ts';
import { drivePlugin, verifyPluginRun } from './plugin-run.ts';
import { seededRandom } from './random.ts';
import { type RunbookRun, RunbookStarter } from './runbook-starter.ts';
import { settle } from './settle.ts';
import {
  awaitTransfersEnded,
  openTransferAccounts,
  runTransferClient,
  SagaTaskDuplicator,
  type TransferWorkload,
} from './transfers.ts';
import { verifyRun } from './verify-run.ts';

/** Options of a chaos run. */
export interface ChaosOptions {
  readonly seconds: number;
  readonly seed: number;
  /** The application the sandbox runs (default: the project's `multiactive.config.ts`). */
  readonly application?: Application;
  /**
   * The environment whose topology the sandbox runs: `dev` (core.ack local, default), `prod` (quorum) or
   * `world` (quorum, five regions).
   */
  readonly env?: string;
  /**
   * Clients per region (default 5 with up to three regions, then fewer so that about 15 clients run in all:
   * 3 per region with five regions, on the same two cores).
   */
  readonly clientsPerRegion?: number;
  /**
   * Accounts (default 15). Each account is written by one client per region at most, so its history has
   * a bounded concurrency and stays decidable.
   */
  readonly accounts?: number;
  /** Profiles (important tier, lww), written by every client (default 3). */
  readonly profiles?: number;
  /**
   * Test only: every region accepts every core write itself, without forwarding or fencing (a
   * deliberately broken build), to show the checkers catch it. Set by the chaos CLI from
   * MULTIACTIVE_TEST_DISABLE_FENCING=1.
   */
  readonly disableFencing?: boolean;
  /** Bug switches of lib/faults to turn on for the run (the CLI reads MULTIACTIVE_TEST_BUGS=a,b). */
  readonly bugs?: readonly string[];
  /** Keep every operation of the history in the report (`history`), for diagnosis; off by default (large). */
  readonly keepHistory?: boolean;
  /** Transfer clients per region (default 1): cross-region transfers between the transfer accounts. */
  readonly transferClientsPerRegion?: number;
  /** Share of Saga machine tasks delivered twice at once (default 0.3). */
  readonly sagaTaskDuplication?: number;
  readonly log?: (line: string) => void;
}

/** One reported figure, in bench/report.ts's shape. */
export interface ChaosFigure {
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  readonly target: string;
  readonly met: boolean | null;
}

/** The result of a run: bench/results JSON shape plus the seed, operations, faults and anomalies. */
export interface ChaosReport {
  readonly at: string;
  readonly machine: { cpus: number; node: string };
  readonly figures: ChaosFigure[];
  readonly seed: number;
  readonly seconds: number;
  readonly env: string;
  /** The application's name, and the config module it was loaded from (to reproduce the run). */
  readonly application?: string;
  readonly config?: string;
  /** The application's chaos plug-in that drove and checked the run; absent: the built-in (bank) workload. */
  readonly workload?: string;
  /** `core.ack` of the environment's topology. */
  readonly ackMode: string;
  readonly fencingDisabled: boolean;
  /** Bug switches that were on during the run (empty for a build as shipped). */
  readonly bugs: readonly string[];
  readonly operations: Record<string, number>;
  readonly faults: InjectedFault[];
  /** Failbacks the run started after heal, for regions whose Failback every fault had cut off. */
  readonly runbooksAfterRun: RunbookRun[];
  readonly faultsNotInjected: readonly string[];
  readonly anomalies: Anomaly[];
  readonly checks: Record<string, unknown>;
  /** Per key named by an anomaly: the clients' operations and each region's stored log of it. */
  readonly evidence: Record<string, { operations: readonly Operation[]; logs: Record<string, unknown[]> }>;
  /** Every operation, when the run was asked to keep them. */
  readonly history?: readonly Operation[];
  readonly passed: boolean;
  /** AWS calls IAM checked and denied during the run (synthesized roles and resource policies). */
  readonly iam?: IamReport;
}

/** Adds the IAM totals and the figure "IAM denied calls" (target 0) to a run's report. */
function withIam(report: ChaosReport, iam: IamReport): ChaosReport {
  const figure: ChaosFigure = {
    figure: 'AWS calls denied by IAM',
    value: iam.denied,
    unit: 'calls',
    target: '0',
    met: iam.denied === 0,
  };
  return { ...report, iam, figures: [...report.figures, figure] };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The deliberately broken build: the region believes it is the home of every partition (so it forwards
 * no core write) and fences nothing (every core append at epoch 0). Every region then writes every account.
 */
function breakSingleWriter(region: Sandbox['regions'][number]): void {
  const ownership = region.ownership;
  const entryFor = ownership.entryFor.bind(ownership);
  ownership.entryFor = async (partition, options) => {
    const entry = await entryFor(partition, options);
    return entry && { ...entry, home: region.name, state: 'active' };
  };
  ownership.fenceCoreWrite = async () => ({ epoch: 0, guards: [] });
}

/** Turns `bugs` on for the run; the returned function restores the switches as they were. */
function switchBugs(bugs: readonly string[]): () => void {
  const before = (Object.keys(BUG_SWITCHES) as BugSwitch[]).filter((name) => bugEnabled(name));
  enableBugs(bugs);
  return () => {
    disableAllBugs();
    enableBugs(before);
  };
}

/** The accounts a client works on: account j goes to client j mod clientsPerRegion of every region. */
function clientKeys(workload: Workload, client: number, perRegion: number): Workload {
  return {
    accounts: workload.accounts.filter((_, j) => j % perRegion === client),
    profiles: workload.profiles,
  };
}

/** Opens the accounts (from rotating regions, so homes spread) and runs clients and nemesis until the end. */
async function drive(sandbox: Sandbox, options: ChaosOptions, history: HistoryRecorder) {
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed);
  const gate = new ApplierGate();
  gate.install(sandbox.regions);
  const tag = `s${options.seed}-${Date.now().toString(36)}`;
  const workload: Workload = {
    accounts: Array.from({ length: options.accounts ?? 15 }, (_, i) => `chaos-${tag}-a${i}`),
    profiles: Array.from({ length: options.profiles ?? 3 }, (_, i) => `chaos-${tag}-p${i}`),
  };
  const names = sandbox.regions.map((r) => r.name);
  const ctx = (from: string, process: string): ClientContext => ({
    client: sandbox.apiClient,
    frontDoor: sandbox.gtm.frontDoorUrl,
    from,
    process,
    history,
    timeoutMs: 3_000,
  });
  // The first write of an account claims its partition (a majority compare-and-set): allow it time.
  const opened = await Promise.all(
    workload.accounts.map((id, i) =>
      openAccount(
        { ...ctx(names[i % names.length]!, `opener-${i}`), timeoutMs: 10_000 },
        { id, deadline: Date.now() + 60_000, tag },
      ),
    ),
  );
  const transferWorkload: TransferWorkload = await openTransferAccounts(sandbox, {
    tag,
    perRegion: 2,
    deadline: Date.now() + 30_000,
  });
  // Saga tasks delivered twice now and then, as Lambda may: a step that is not idempotent shows.
  const duplicator = new SagaTaskDuplicator(
    seededRandom(options.seed * 104_729 + 17),
    options.sagaTaskDuplication ?? 0.3,
  );
  duplicator.install(sandbox.regions);
  const kinds = faultKindsFor(sandbox.topology, { fencing: !options.disableFencing });
  log(
    `opened ${opened.filter(Boolean).length} of ${workload.accounts.length} accounts and ${transferWorkload.accounts.length} transfer accounts; clients and nemesis start (seed ${options.seed})`,
  );
  const started = Date.now();
  const until = started + options.seconds * 1_000;
  const faults: InjectedFault[] = [];
  const perRegion = options.clientsPerRegion ?? Math.min(5, Math.max(2, Math.round(15 / names.length)));
  const clients = names.flatMap((from) =>
    Array.from({ length: perRegion }, (_, i) =>
      runClient(ctx(from, `${from}/c${i}`), {
        random: seededRandom(options.seed * 7919 + names.indexOf(from) * 31 + i),
        keys: clientKeys(workload, i, perRegion),
        running: () => Date.now() < until,
        pauseMs: 60,
        tag,
      }),
    ),
  );
  const transferClients = names.flatMap((from) =>
    Array.from({ length: options.transferClientsPerRegion ?? 1 }, (_, i) =>
      runTransferClient(
        {
          client: sandbox.apiClient,
          frontDoor: sandbox.gtm.frontDoorUrl,
          from,
          process: `${from}/t${i}`,
          history,
        },
        {
          random: seededRandom(options.seed * 6_151 + names.indexOf(from) * 97 + i),
          workload: transferWorkload,
          running: () => Date.now() < until,
          pauseMs: 100,
        },
      ),
    ),
  );
  const runbooks = new RunbookStarter(sandbox, started);
  const partitions = partitionsOf(sandbox, workload.accounts);
  await Promise.all([
    ...clients,
    ...transferClients,
    runNemesis(sandbox, { random, kinds, until, started, faults, gate, runbooks, partitions, log }),
  ]);
  log('healing and quiescing');
  gate.resumeAll();
  return { faults, runbooks, transferWorkload, duplicator, started };
}

/**
 * After heal: every region still failed over (all its Failback attempts were cut off by later faults) is
 * failed back now, up to three times, so its orphans are settled before the stores are read.
 */
async function finishFailbacks(
  sandbox: Sandbox,
  runbooks: RunbookStarter,
  log: (line: string) => void,
): Promise<RunbookRun[]> {
  const runs: RunbookRun[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const regions = runbooks.unfinishedFailovers();
    if (regions.length === 0) break;
    for (const region of regions) {
      const runIn = sandbox.regions.find((r) => r.name !== region)!.name;
      log(`failing back ${region} after the run (attempt ${attempt})`);
      runs.push(await runbooks.start(runIn, 'Failback', { region, switchBack: true }).done);
    }
  }
  return runs;
}

/** The aggregate types the built-in (bank) workload writes. */
const BANK_WORKLOAD_TYPES = ['account', 'profile', 'transfer'] as const;

/** Refuses, before any sandbox starts, an application with no chaos plug-in and not the bank's types. */
function requireWorkload(application: Application): void {
  if (application.chaos) return;
  const missing = BANK_WORKLOAD_TYPES.filter((t) => !application.aggregates.some((a) => a.name === t));
  if (missing.length > 0)
    throw new NoWorkloadError({ application: application.name, tool: 'chaos', missing });
}

/**
 * A chaos run: a fast sandbox of every region of the chosen environment, clients near every region writing
 * and reading (with their consistency tokens) accounts and profiles through the front door while the
 * nemesis injects faults drawn from the seed; then heal, quiesce, read every region and run the checkers
 * (lib/verify) on the history and the stores. An application with a chaos plug-in (`defineApp({ chaos })`)
 * brings its own clients and checker instead; one with neither is refused (NoWorkloadError) before any
 * sandbox starts.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const application = options.application ?? (await loadApplication(join(PROJECT_ROOT, CONFIG_FILE)));
  requireWorkload(application);
  const restoreBugs = switchBugs(options.bugs ?? []);
  const sandbox = await Sandbox.start({ application, env: options.env ?? 'dev', fast: true, log: () => {} });
  log(`sandbox of env ${sandbox.topology.name} up (core.ack ${sandbox.topology.core.ack})`);
  const origin = {
    application: application.name,
    ...(application.module ? { config: application.module } : {}),
  };
  try {
    if (options.disableFencing) for (const region of sandbox.regions) breakSingleWriter(region);
    const history = new HistoryRecorder();
    if (application.chaos) {
      const report = await runPlugin(sandbox, { application, plugin: application.chaos, options, history });
      return { ...report, ...origin };
    }
    const { faults, runbooks, transferWorkload, duplicator, started } = await drive(
      sandbox,
      options,
      history,
    );
    const afterRun = await healAndSettle(sandbox, runbooks, log);
    // Until here the regions were being brought back (revived, failed back, caught up): an outage too.
    const restoredAt = Date.now();
    // Transfers left in doubt are finished by their home's sweep once it can write again.
    const { sagaHoldMs, sagaSweepMs } = sandbox.timing;
    const inDoubt = await awaitTransfersEnded(sandbox, Date.now() + sagaHoldMs + sagaSweepMs + 15_000);
    log(`transfers still in progress after the wait: ${inDoubt}`);
    await settle(sandbox, 30_000, log);
    await sleep(1_000);
    await settle(sandbox, 10_000, log);
    log('reading every region and checking');
    const report = await verifyRun(sandbox, {
      options,
      history,
      faults,
      afterRun,
      transfers: { workload: transferWorkload, duplicated: duplicator.duplicated, started, restoredAt },
    });
    return withIam({ ...report, ...origin }, sandbox.iam.report());
  } finally {
    await sandbox.stop();
    restoreBugs();
  }
}

/**
 * Heals every fault, revives every region, lets the nemesis's runbooks end, fails back what is still
 * failed over and waits for the streams to drain; returns the Failbacks run after the run.
 */
async function healAndSettle(
  sandbox: Sandbox,
  runbooks: RunbookStarter,
  log: (line: string) => void,
): Promise<RunbookRun[]> {
  sandbox.heal();
  for (const region of sandbox.regions) region.wallClock.offsetMs = 0;
  await Promise.all(sandbox.regions.map((r) => sandbox.reviveRegion(r.name)));
  // Runbooks started by the nemesis (and a Failback after its Failover) end before the stores are read.
  await runbooks.settle();
  const afterRun = await finishFailbacks(sandbox, runbooks, log);
  for (const run of runbooks.runs) log(`runbook ${run.runbook} in ${run.region}: ${run.status}`);
  await settle(sandbox, 30_000, log);
  return afterRun;
}

/** A run driven and checked by the application's chaos plug-in (plus the platform's own checks). */
async function runPlugin(
  sandbox: Sandbox,
  input: { application: Application; plugin: ChaosPlugin; options: ChaosOptions; history: HistoryRecorder },
): Promise<ChaosReport> {
  const log = input.options.log ?? (() => {});
  const gate = new ApplierGate();
  gate.install(sandbox.regions);
  const drive = await drivePlugin(sandbox, { ...input, gate });
  const afterRun = await healAndSettle(sandbox, drive.runbooks, log);
  await sleep(1_000);
  await settle(sandbox, 10_000, log);
  log(`reading every region and running the platform's and ${input.plugin.name}'s checkers`);
  return withIam(await verifyPluginRun(sandbox, { ...input, drive, afterRun }), sandbox.iam.report());
}
