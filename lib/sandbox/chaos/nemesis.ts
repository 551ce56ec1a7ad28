import { partitionOf } from '../../ownership/index.ts';
import type { SandboxRegion } from '../platform/region.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import type { LinkState } from '../wan/index.ts';
import { pick } from './random.ts';

/**
 * The faults the nemesis draws from. `clock-skew` moves one region's wall clock (under all its HLCs) a
 * few hundred ms ahead or behind; `runbook-during-fault` injects one of the other faults and, inside its
 * window, starts a runbook execution: Failover of the killed region (then Failback once it is revived)
 * when the fault is `kill-region`, else Repair or a one-partition Switchover run in a live region.
 */
export const FAULT_KINDS = [
  'kill-region',
  'partition-pair',
  'isolate-region',
  'latency-spike',
  'duplicate-reorder',
  'pause-applier',
  'clock-skew',
  'runbook-during-fault',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The faults a `runbook-during-fault` runs its runbook under. */
const BASE_KINDS = FAULT_KINDS.filter((k) => k !== 'runbook-during-fault');

/** Largest clock skew the nemesis sets (ms); always kept under half of `thresholds.maxDriftMs`. */
const MAX_SKEW_MS = 500;

/** Faults not injected yet (none left). */
export const FAULTS_TODO: readonly string[] = [];

/** A runbook execution the nemesis started, for the report; `status` is final once it settled. */
export interface RunbookRun {
  readonly runbook: 'Repair' | 'Switchover' | 'Failover' | 'Failback';
  /** The region the state machine ran in. */
  readonly region: string;
  readonly input: Record<string, unknown>;
  /** Ms since the run started. */
  readonly at: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  error?: string;
  durationMs?: number;
}

/** One fault as injected, for the report. */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly target: string;
  /** Ms since the run started. */
  readonly at: number;
  readonly healedAt: number;
  /** Runbook executions started in this fault's window (and the Failback after a revive). */
  readonly runbooks?: RunbookRun[];
}

/** Starts runbook executions without waiting for them and keeps every one until `settle()`. */
export class RunbookStarter {
  readonly runs: RunbookRun[] = [];
  private readonly pending: Promise<RunbookRun>[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly started: number,
  ) {}

  /** Starts an execution in `region`; `done` resolves (never rejects) once its status is final. */
  start(
    region: string,
    runbook: RunbookRun['runbook'],
    input: Record<string, unknown>,
  ): { run: RunbookRun; done: Promise<RunbookRun> } {
    const run: RunbookRun = { runbook, region, input, at: Date.now() - this.started, status: 'RUNNING' };
    this.runs.push(run);
    const t0 = Date.now();
    const done = this.sandbox.runStateMachine(region, runbook, input).then(
      (result) => {
        run.status = result.status;
        const error = [result.error, result.cause].filter(Boolean).join(': ');
        if (error) run.error = error.slice(0, 300);
        run.durationMs = Date.now() - t0;
        return run;
      },
      (error: unknown) => {
        run.status = 'FAILED';
        run.error = String(error).slice(0, 300);
        run.durationMs = Date.now() - t0;
        return run;
      },
    );
    this.pending.push(done);
    return { run, done };
  }

  /** Waits for every execution started so far (and those they start). */
  async settle(): Promise<void> {
    for (let seen = 0; seen < this.pending.length; seen = this.pending.length)
      await Promise.all(this.pending.slice(seen));
  }
}

/** Holds a region's applier invocations until released (a throttled / paused Lambda). */
export class ApplierGate {
  private paused = new Set<string>();
  private waiters: Array<() => void> = [];

  /** Wraps every region's applier so that it waits while its region is paused. */
  install(regions: readonly SandboxRegion[]): void {
    for (const region of regions) {
      const apply = region.functions.applier;
      Object.assign(region.functions, {
        applier: async (event: Parameters<typeof apply>[0]) => {
          while (this.paused.has(region.name)) await new Promise<void>((r) => this.waiters.push(r));
          return apply(event);
        },
      });
    }
  }

  pause(region: string): void {
    this.paused.add(region);
  }

  resumeAll(): void {
    this.paused.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}

type Heal = () => Promise<void> | void;

function pair(random: () => number, names: readonly string[]): [string, string] {
  const a = pick(random, names);
  return [
    a,
    pick(
      random,
      names.filter((n) => n !== a),
    ),
  ];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What `inject` needs besides the sandbox. */
export interface InjectInput {
  readonly kind: FaultKind;
  readonly random: () => number;
  readonly gate: ApplierGate;
  readonly runbooks: RunbookStarter;
  /** Partitions worth a Switchover (those of the workload's accounts). */
  readonly partitions: readonly number[];
}

/** Injects one fault of `kind`; returns its target and how to undo it. */
export async function inject(
  sandbox: Sandbox,
  input: InjectInput,
): Promise<{ target: string; heal: Heal; runbooks?: RunbookRun[] }> {
  const names = sandbox.regions.map((r) => r.name);
  const { random } = input;
  switch (input.kind) {
    case 'kill-region': {
      const region = pick(random, names);
      await sandbox.killRegion(region);
      return { target: region, heal: () => sandbox.reviveRegion(region) };
    }
    case 'partition-pair': {
      const [a, b] = pair(random, names);
      sandbox.partition(a, b);
      return { target: `${a}|${b}`, heal: () => sandbox.heal() };
    }
    case 'isolate-region': {
      // With three regions this is also the majority/minority split: {x} against the other two.
      const region = pick(random, names);
      sandbox.wan.isolate(region);
      return { target: `${region} vs rest`, heal: () => sandbox.heal() };
    }
    case 'latency-spike':
      return changeLink(sandbox, pair(random, names), { latencyMs: 400 + Math.floor(random() * 800) });
    case 'duplicate-reorder':
      return changeLink(sandbox, pair(random, names), { duplicate: 0.3, reorderMs: 300 });
    case 'pause-applier': {
      const region = pick(random, names);
      input.gate.pause(region);
      return { target: region, heal: () => input.gate.resumeAll() };
    }
    case 'clock-skew': {
      const region = sandbox.region(pick(random, names));
      const bound = Math.min(MAX_SKEW_MS, Math.floor(sandbox.topology.thresholds.maxDriftMs / 2));
      const magnitude = Math.round(bound * (0.2 + 0.8 * random()));
      const offset = random() < 0.5 ? -magnitude : magnitude;
      region.wallClock.offsetMs = offset;
      return {
        target: `${region.name} ${offset > 0 ? '+' : ''}${offset} ms`,
        heal: () => {
          region.wallClock.offsetMs = 0;
        },
      };
    }
    case 'runbook-during-fault':
      return runbookDuringFault(sandbox, input);
  }
}

/** A fault drawn from the others, and a runbook execution started inside its window. */
async function runbookDuringFault(
  sandbox: Sandbox,
  input: InjectInput,
): Promise<{ target: string; heal: Heal; runbooks: RunbookRun[] }> {
  const { random, runbooks: starter } = input;
  const base = pick(random, BASE_KINDS);
  const fault = await inject(sandbox, { ...input, kind: base });
  const runs: RunbookRun[] = [];
  const track = (started: { run: RunbookRun; done: Promise<RunbookRun> }) => {
    runs.push(started.run);
    return started.done;
  };
  await sleep(200 + random() * 600);
  const names = sandbox.regions.map((r) => r.name);
  const live = names.filter((n) => !sandbox.region(n).isDown);
  const runIn = pick(random, live);
  if (base === 'kill-region') {
    const lost = fault.target;
    // As in AWS, where the health check's alarm starts it: Failover once the GTM sees the region down
    // (a majority of the others then confirms it), or after 5 s, when it may rightly refuse.
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      if (!sandbox.gtm.checker.isHealthy(lost)) break;
      await sleep(100);
    }
    const failover = track(starter.start(runIn, 'Failover', { region: lost, trigger: 'chaos' }));
    return {
      target: `${base} ${fault.target}; Failover(${lost}) in ${runIn}, then Failback`,
      runbooks: runs,
      heal: async () => {
        await fault.heal();
        // Failback only once the Failover is over (it may still be confirming the loss).
        const back = pick(
          random,
          names.filter((n) => n !== lost),
        );
        // Nothing to fail back when the Failover refused (the region was never failed over).
        void failover.then((run) =>
          run.status === 'SUCCEEDED'
            ? track(starter.start(back, 'Failback', { region: lost, switchBack: true }))
            : undefined,
        );
      },
    };
  }
  if (random() < 0.5 && input.partitions.length > 0) {
    const partition = pick(random, input.partitions);
    track(
      starter.start(runIn, 'Switchover', {
        partitions: [partition],
        to: runIn,
        reason: `chaos: during ${base}`,
      }),
    );
    return {
      target: `${base} ${fault.target}; Switchover([${partition}] -> ${runIn})`,
      runbooks: runs,
      heal: fault.heal,
    };
  }
  track(starter.start(runIn, 'Repair', {}));
  return { target: `${base} ${fault.target}; Repair in ${runIn}`, runbooks: runs, heal: fault.heal };
}

/** The partitions of a workload's account ids. */
export function partitionsOf(sandbox: Sandbox, ids: readonly string[]): number[] {
  return [...new Set(ids.map((id) => partitionOf(id, sandbox.topology.partitions)))];
}

function changeLink(sandbox: Sandbox, [a, b]: [string, string], change: Partial<LinkState>) {
  const before = { ab: sandbox.wan.link(a, b), ba: sandbox.wan.link(b, a) };
  sandbox.wan.setLink(a, b, change);
  return {
    target: `${a}|${b} ${JSON.stringify(change)}`,
    heal: () => {
      sandbox.wan.setLink(a, b, before.ab, { oneWay: true });
      sandbox.wan.setLink(b, a, before.ba, { oneWay: true });
    },
  };
}
