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
  durationMs?: number;
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
