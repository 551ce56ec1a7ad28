import type { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { RunbookName } from '../../naming.ts';
import { RUNBOOK_IDS, TASK_TIMEOUT } from './runbook-defaults.ts';

export interface RunbookTaskOptions {
  readonly runbook: RunbookName;
  /** State name and the `task` the runbook handler dispatches on, e.g. `Fence`. */
  readonly task: string;
  readonly fn: lambda.IFunction;
  readonly timeout?: Duration;
  /**
   * The task's output is its result alone (ResultPath `$`), not the state with the result added: for the
   * last state of a Parallel branch, whose output is one element of the Parallel's raw result, which Step
   * Functions holds to the 256 KiB quota before any ResultSelector (a branch outputting the whole state
   * would put one copy of the state per branch in it). ResultPath is left out (ASL's default, `$`):
   * aws-local-stepfunctions, the sandbox's engine, reads an explicit `$` as a key named `$`.
   */
  readonly resultOnly?: boolean;
}

/** `Fence` -> `fence`: the key under which a task's result is kept in the execution state. */
export function resultKey(task: string): string {
  return task.charAt(0).toLowerCase() + task.slice(1);
}

/**
 * A Lambda task of a runbook. Contract with `functions/runbook/handler.ts`:
 * - payload `{ runbook, task, input }`: `input` is the whole state so far (the execution input plus
 *   the result of every earlier task under its key, e.g. `input.fence`);
 * - the handler returns a JSON object, kept at `$.<resultKey(task)>` (`payloadResponseOnly`: the
 *   Lambda's return value itself, no `{ Payload, StatusCode }` envelope), and throws to fail the task.
 * Lambda service errors and throttling are retried with backoff; anything else goes to the Catch.
 */
export function runbookTask(scope: Construct, options: RunbookTaskOptions): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, options.task, {
    lambdaFunction: options.fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    payload: sfn.TaskInput.fromObject({
      runbook: RUNBOOK_IDS[options.runbook],
      task: options.task,
      input: sfn.JsonPath.entirePayload,
    }),
    resultPath: options.resultOnly ? undefined : `$.${resultKey(options.task)}`,
    taskTimeout: sfn.Timeout.duration(options.timeout ?? TASK_TIMEOUT),
  });
  task.addRetry({ errors: ['Lambda.TooManyRequestsException'], maxAttempts: 6, backoffRate: 2 });
  return task;
}

/** Catches every error of `state` into `$.error` (keeping the state) and continues at `handler`. */
export function catchInto(
  handler: sfn.IChainable,
  ...states: Array<tasks.LambdaInvoke | sfn.Map | sfn.Parallel>
): void {
  for (const state of states) state.addCatch(handler, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
}
