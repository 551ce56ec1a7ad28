/** What a runbook Lambda task receives (see cdk/constructs/runbooks/runbook-task.ts). */
export interface RunbookTaskRequest {
  readonly runbook: string;
  readonly task: string;
  /** The whole execution state so far: execution input plus earlier task results. */
  readonly input: unknown;
}

/** The runbook function of one region: dispatches on `runbook` and `task`, throws to fail the task. */
export type RunbookHandler = (request: RunbookTaskRequest) => Promise<unknown>;

/** Thrown by the placeholder runbook handler until the runbook tasks exist (a later issue). */
export class RunbookTaskNotImplementedError extends Error {
  readonly runbook: string;
  readonly task: string;

  constructor(runbook: string, task: string) {
    super(`not implemented: runbook ${runbook} task ${task}`);
    this.name = 'RunbookTaskNotImplemented';
    this.runbook = runbook;
    this.task = task;
  }
}

/** The placeholder: every task fails, like `functions/runbook/handler.ts` today. */
export const notImplementedRunbook: RunbookHandler = async (request) => {
  throw new RunbookTaskNotImplementedError(request.runbook, request.task);
};
