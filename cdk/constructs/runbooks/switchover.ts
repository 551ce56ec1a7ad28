/**
 * Switchover (planned move of partitions to another home region, RPO 0 for every tier).
 *
 * Execution input: `{ "partitions": [17, 42], "to": "eu-west-1", "reason"?: "..." }`.
 * Every task invokes the runbook function with `{ runbook: 'switchover', task, input }` (`input` = the
 * state so far) and its result is kept at `$.<task>` (camelCase), see `runbookTask`. Results the
 * machine itself reads:
 * - `CheckWatermark` -> `{ caughtUp: boolean }` at `$.checkWatermark`;
 * - `$.watermarkPoll.attempts` is counted by the machine (States.MathAdd), not by the handler.
 * Shape: Fence -> WaitForWatermark/CheckWatermark loop (bounded by WATERMARK_POLL) -> MoveHome ->
 * Unfence -> VerifyProbe. Any task failure or a watermark timeout runs Rollback (unfence, restore the
 * old home; it must be idempotent because it may run before anything was fenced), then fails.
 */
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { LONG_TASK_TIMEOUT, WATERMARK_POLL } from './runbook-defaults.ts';
import type { RunbookDefinitionProps } from './runbook-definition.ts';
import { catchInto, runbookTask } from './runbook-task.ts';

export function switchoverDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const task = (name: string) => runbookTask(scope, { runbook: 'Switchover', task: name, fn });
  const fence = task('Fence');
  const checkWatermark = task('CheckWatermark');
  const moveHome = task('MoveHome');
  const unfence = task('Unfence');
  const verifyProbe = task('VerifyProbe');
  const rollback = runbookTask(scope, {
    runbook: 'Switchover',
    task: 'Rollback',
    fn,
    timeout: LONG_TASK_TIMEOUT,
  });

  const failed = new sfn.Fail(scope, 'SwitchoverFailed', {
    error: 'SwitchoverFailed',
    cause: 'The switchover failed and was rolled back; the old home keeps the partitions. See $.error.',
  });
  const rollbackFailed = new sfn.Fail(scope, 'RollbackFailed', {
    error: 'RollbackFailed',
    cause:
      'The switchover failed and so did its rollback: partitions may still be fenced. Intervene by hand.',
  });
  rollback.addCatch(rollbackFailed, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackError' });
  rollback.next(failed);
  catchInto(rollback, fence, checkWatermark, moveHome, unfence, verifyProbe);

  const startPolling = new sfn.Pass(scope, 'StartWatermarkPoll', {
    result: sfn.Result.fromObject({ attempts: 0 }),
    resultPath: '$.watermarkPoll',
  });
  const waitForWatermark = new sfn.Wait(scope, 'WaitForWatermark', {
    time: sfn.WaitTime.duration(Duration.seconds(WATERMARK_POLL.intervalSeconds)),
  });
  const countAttempt = new sfn.Pass(scope, 'CountWatermarkPoll', {
    parameters: { 'attempts.$': 'States.MathAdd($.watermarkPoll.attempts, 1)' },
    resultPath: '$.watermarkPoll',
  });
  const timedOut = new sfn.Pass(scope, 'WatermarkTimedOut', {
    result: sfn.Result.fromObject({
      Error: 'WatermarkTimeout',
      Cause: `The target's watermark did not cover the source within ${WATERMARK_POLL.maxAttempts} polls`,
    }),
    resultPath: '$.error',
  });
  timedOut.next(rollback);
  const reached = new sfn.Choice(scope, 'WatermarkReached')
    .when(sfn.Condition.booleanEquals('$.checkWatermark.caughtUp', true), moveHome)
    .when(
      sfn.Condition.numberGreaterThanEquals('$.watermarkPoll.attempts', WATERMARK_POLL.maxAttempts),
      timedOut,
    )
    .otherwise(waitForWatermark);

  moveHome.next(unfence).next(verifyProbe).next(new sfn.Succeed(scope, 'SwitchoverSucceeded'));
  return fence
    .next(startPolling)
    .next(waitForWatermark)
    .next(checkWatermark)
    .next(countAttempt)
    .next(reached);
}
