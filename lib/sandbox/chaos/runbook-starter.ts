import type { Sandbox } from '../platform/sandbox.ts';

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
  /** Task failures on the way (state: error: cause), caught or not. */
  taskErrors?: string[];
  durationMs?: number;
  /** performance.now() when the status became final: the clock of the history's operations. */
  finishedAt?: number;
  /** Failover: what CollectCopies did and the partitions BumpEpochs moved (for diagnosing a lost write). */
  collected?: {
    aggregatesChecked: number;
    eventsCollected: number;
    blocked: unknown[];
    moved: Array<{ partition: number; home: string; epoch: number }>;
  };
}

/** The CollectCopies and BumpEpochs results of a Failover execution's output, if it has them. */
function collectedOf(output: unknown): RunbookRun['collected'] {
  const o = output as {
    collectCopies?: { aggregatesChecked?: number; eventsCollected?: number; blocked?: unknown[] };
    bumpEpochs?: { moved?: Array<{ partition: number; home: string; epoch: number }> };
  } | null;
  if (!o?.collectCopies) return undefined;
  return {
    aggregatesChecked: o.collectCopies.aggregatesChecked ?? 0,
    eventsCollected: o.collectCopies.eventsCollected ?? 0,
    blocked: o.collectCopies.blocked ?? [],
    moved: (o.bumpEpochs?.moved ?? []).map(({ partition, home, epoch }) => ({ partition, home, epoch })),
  };
}

/** Starts runbook executions without waiting for them and keeps every one until `settle()`. */
export class RunbookStarter {
  readonly runs: RunbookRun[] = [];
  private readonly pending: Promise<unknown>[] = [];

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
        // The task failures behind a Fail state (caught or not): what actually went wrong, for diagnosis.
        if (result.taskErrors.length > 0)
          run.taskErrors = result.taskErrors.map((t) => `${t.state}: ${t.error}: ${t.cause}`.slice(0, 400));
        const collected = collectedOf(result.output);
        if (collected) run.collected = collected;
        run.durationMs = Date.now() - t0;
        run.finishedAt = performance.now();
        return run;
      },
      (error: unknown) => {
        run.status = 'FAILED';
        run.error = String(error).slice(0, 300);
        run.durationMs = Date.now() - t0;
        run.finishedAt = performance.now();
        return run;
      },
    );
    this.pending.push(done);
    return { run, done };
  }

  /** Also waits for `work` in `settle()` (e.g. a chain that starts a runbook later); `work` must not reject. */
  track(work: Promise<unknown>): void {
    this.pending.push(work);
  }

  /**
   * Regions whose last Failover succeeded with no successful Failback after it (every attempt was cut
   * off by later faults): the run fails them back once everything is healed, as an operator would.
   */
  unfinishedFailovers(): string[] {
    const last = new Map<string, RunbookRun>();
    const settled = (run: RunbookRun) => run.status === 'SUCCEEDED';
    for (const run of [...this.runs].sort((a, b) => a.at - b.at)) {
      const region = run.input.region;
      if (typeof region !== 'string' || !settled(run)) continue;
      if (run.runbook === 'Failover' || run.runbook === 'Failback') last.set(region, run);
    }
    return [...last].filter(([, run]) => run.runbook === 'Failover').map(([region]) => region);
  }

  /** Waits for every execution started so far (and those they start). */
  async settle(): Promise<void> {
    for (let seen = 0; seen < this.pending.length; seen = this.pending.length)
      await Promise.all(this.pending.slice(seen));
  }
}
