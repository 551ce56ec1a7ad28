/**
 * Saga: runs one Try-Confirm-Cancel saga (a transfer) to its end. Deployed in every region; the API of
 * the saga's home starts it (execution name = saga id), and the recovery sweep starts it again for a
 * saga left in doubt (its coordinator lost with its region, or out of retries).
 *
 * Execution input: `{ "saga": "transfer", "sagaId": "tr-...", "startedBy": "api" | "sweep" }`.
 * Every task invokes the saga function with `{ task, input }` (`input` = the state so far) and its result
 * is kept at `$.<task>` (camelCase). The machine reads `$.decide.outcome` (`confirm` | `cancel`).
 * Shape: Try (reserve, each outcome recorded on the saga) -> Decide (the saga's one decision: confirm
 * only if every Try succeeded before the expiry) -> Confirm | Cancel -> Confirmed | Cancelled.
 * Every task reads the saga's log first and does only what is left, and every step is idempotent, so an
 * execution may start at any point of a saga, twice at once, or again after a failover.
 * A Try that still fails after its retries cancels the saga (Decide is given `$.tryError`). A Decide,
 * Confirm or Cancel that still fails ends in InDoubt: the saga stays where it is, and the sweep of its
 * home resumes it once it has been idle for `sagas.resumeAfterMs`.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { resultKey } from '../runbooks/runbook-task.ts';
import { SAGA_RETRIES, SAGA_TASK_TIMEOUT } from './saga-defaults.ts';

function sagaTask(
  scope: Construct,
  fn: lambda.IFunction,
  task: keyof typeof SAGA_RETRIES,
): tasks.LambdaInvoke {
  const invoke = new tasks.LambdaInvoke(scope, task, {
    lambdaFunction: fn,
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    payload: sfn.TaskInput.fromObject({ task, input: sfn.JsonPath.entirePayload }),
    resultPath: `$.${resultKey(task)}`,
    taskTimeout: sfn.Timeout.duration(SAGA_TASK_TIMEOUT),
  });
  invoke.addRetry({ errors: ['Lambda.TooManyRequestsException'], maxAttempts: 6, backoffRate: 2 });
  // A home fenced by a move, a quorum or a peer away for seconds: retried with backoff, then given up.
  invoke.addRetry({
    errors: [sfn.Errors.ALL],
    interval: Duration.seconds(1),
    maxAttempts: SAGA_RETRIES[task],
    backoffRate: 2,
  });
  return invoke;
}

export function sagaDefinition(scope: Construct, fn: lambda.IFunction): sfn.IChainable {
  const tryTask = sagaTask(scope, fn, 'Try');
  const decide = sagaTask(scope, fn, 'Decide');
  const confirm = sagaTask(scope, fn, 'Confirm');
  const cancel = sagaTask(scope, fn, 'Cancel');
  const inDoubt = new sfn.Fail(scope, 'InDoubt', {
    error: 'SagaInDoubt',
    cause:
      'A step kept failing; the saga stays where its log says and the recovery sweep of its home resumes it.',
  });
  tryTask.addCatch(decide, { errors: [sfn.Errors.ALL], resultPath: '$.tryError' });
  for (const task of [decide, confirm, cancel]) {
    task.addCatch(inDoubt, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  }
  const outcome = new sfn.Choice(scope, 'Outcome')
    .when(sfn.Condition.stringEquals('$.decide.outcome', 'confirm'), confirm)
    .otherwise(cancel);
  confirm.next(new sfn.Succeed(scope, 'Confirmed'));
  cancel.next(new sfn.Succeed(scope, 'Cancelled'));
  return tryTask.next(decide).next(outcome);
}
