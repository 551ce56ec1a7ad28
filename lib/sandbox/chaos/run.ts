import { type Anomaly, HistoryRecorder, type Operation } from '../../verify/index.ts';
import { Sandbox } from '../platform/sandbox.ts';
import { openAccount, runClient, type Workload } from './clients.ts';
import {
  ApplierGate,
  FAULT_KINDS,
  type InjectedFault,
  inject,
  partitionsOf,
  RunbookStarter,
} from './nemesis.ts';
import { pick, seededRandom } from './random.ts';
import { verifyRun } from './verify-run.ts';

/** Options of a chaos run. */
export interface ChaosOptions {
  readonly seconds: number;
  readonly seed: number;
  /** Clients per region (default 2). */
  readonly clientsPerRegion?: number;
  /**
   * Test only: every region accepts every core write itself, without forwarding or fencing (a
   * deliberately broken build), to show
   * the checkers catch it. Set by the chaos CLI from MULTIACTIVE_TEST_DISABLE_FENCING=1.
   */
  readonly disableFencing?: boolean;
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
  readonly fencingDisabled: boolean;
  readonly operations: Record<string, number>;
  readonly faults: InjectedFault[];
  readonly faultsNotInjected: readonly string[];
  readonly anomalies: Anomaly[];
  readonly checks: Record<string, unknown>;
  /** Per key named by an anomaly: the clients' operations and each region's stored log of it. */
  readonly evidence: Record<string, { operations: readonly Operation[]; logs: Record<string, unknown[]> }>;
  readonly passed: boolean;
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

/** Runs the nemesis until `until`: a fault, held for a while, healed, a quiet gap, again. */
async function nemesis(
  sandbox: Sandbox,
  input: {
    random: () => number;
    until: number;
    started: number;
    faults: InjectedFault[];
    gate: ApplierGate;
    runbooks: RunbookStarter;
    partitions: readonly number[];
    log: (l: string) => void;
  },
) {
  const { random } = input;
  while (Date.now() + 3_000 < input.until) {
    const kind = pick(random, FAULT_KINDS);
    const at = Date.now() - input.started;
    const fault = await inject(sandbox, {
      kind,
      random,
      gate: input.gate,
      runbooks: input.runbooks,
      partitions: input.partitions,
    });
    input.log(`nemesis: ${kind} ${fault.target}`);
    await sleep(Math.min(1_500 + random() * 3_000, Math.max(0, input.until - Date.now())));
    await fault.heal();
    input.faults.push({
      kind,
      target: fault.target,
      at,
      healedAt: Date.now() - input.started,
      ...(fault.runbooks ? { runbooks: fault.runbooks } : {}),
    });
    await sleep(500 + random() * 1_500);
  }
}

/**
 * A chaos run: a three-region fast sandbox, clients near every region writing shared accounts and
 * profiles through the front door while the nemesis injects faults drawn from the seed; then heal,
 * quiesce, read every region and run the checkers (lib/verify) on the history and the stores.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed);
  const sandbox = await Sandbox.start({ fast: true, log: () => {} });
  try {
    if (options.disableFencing) for (const region of sandbox.regions) breakSingleWriter(region);
    const gate = new ApplierGate();
    gate.install(sandbox.regions);
    const history = new HistoryRecorder();
    const tag = `s${options.seed}-${Date.now().toString(36)}`;
    const workload: Workload = {
      accounts: [0, 1, 2, 3].map((i) => `chaos-${tag}-a${i}`),
      profiles: [0, 1].map((i) => `chaos-${tag}-p${i}`),
    };
    const names = sandbox.regions.map((r) => r.name);
    const ctx = (from: string, process: string) => ({
      client: sandbox.apiClient,
      frontDoor: sandbox.gtm.frontDoorUrl,
      from,
      process,
      history,
      timeoutMs: 3_000,
    });
    await Promise.all(
      workload.accounts.map((id, i) =>
        openAccount(ctx(names[i % names.length]!, `opener-${i}`), id, Date.now() + 15_000),
      ),
    );
    log(`opened ${workload.accounts.length} accounts; clients and nemesis start (seed ${options.seed})`);
    const started = Date.now();
    const until = started + options.seconds * 1_000;
    const faults: InjectedFault[] = [];
    const clients = names.flatMap((from) =>
      Array.from({ length: options.clientsPerRegion ?? 2 }, (_, i) =>
        runClient(ctx(from, `${from}/c${i}`), {
          random: seededRandom(options.seed * 7919 + names.indexOf(from) * 31 + i),
          workload,
          running: () => Date.now() < until,
          pauseMs: 60,
        }),
      ),
    );
    const runbooks = new RunbookStarter(sandbox, started);
    const partitions = partitionsOf(sandbox, workload.accounts);
    await Promise.all([
      ...clients,
      nemesis(sandbox, { random, until, started, faults, gate, runbooks, partitions, log }),
    ]);
    log('healing and quiescing');
    gate.resumeAll();
    sandbox.heal();
    for (const region of sandbox.regions) region.wallClock.offsetMs = 0;
    await Promise.all(names.map((n) => sandbox.reviveRegion(n)));
    // Runbooks started by the nemesis (and a Failback after its Failover) end before the stores are read.
    await runbooks.settle();
    for (const run of runbooks.runs) log(`runbook ${run.runbook} in ${run.region}: ${run.status}`);
    await sandbox.quiesce(30_000);
    await sleep(1_000);
    await sandbox.quiesce(10_000);
    return await verifyRun(sandbox, { options, history, faults });
  } finally {
    await sandbox.stop();
  }
}
