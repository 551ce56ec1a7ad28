/**
 * Switchover (planned move of partitions to another home region, RPO 0 for every tier).
 *
 * Execution input: `{ "partitions": [17, 42], "to": "eu-west-1", "reason"?: "..." }`.
 * Every task invokes the runbook function with `{ runbook: 'switchover', task, input }` (`input` = the
 * state so far) and its result is kept at `$.<task>` (camelCase), see `runbookTask`. Results the
 * machine itself reads:
 * - `CheckWatermark` -> `{ caughtUp: boolean }` at `$.checkWatermark`;
 * - `$.watermarkPoll.attempts` is counted by the machine (States.MathAdd), not by the handler.
 * Shape (rehome-steps.ts): Fence -> CheckWatermark/WaitForWatermark loop (bounded by WATERMARK_POLL) ->
 * VerifyProbe (rows compared while still fenced) -> MoveHome -> Unfence -> CheckOtherTiers/WaitForOtherTiers
 * loop. Any task failure or a timeout runs
 * Rollback (unfence, restore the old home; it must be idempotent because it may run before anything was
 * fenced), then fails.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { rehomeSteps } from './rehome-steps.ts';
import type { RunbookDefinitionProps } from './runbook-definition.ts';

export function switchoverDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const steps = rehomeSteps(scope, { runbook: 'Switchover', fn, verify: true });
  const failed = new sfn.Fail(scope, 'SwitchoverFailed', {
    error: 'SwitchoverFailed',
    cause: 'The switchover failed and was rolled back; the old home keeps the partitions. See $.error.',
  });
  const rollbackFailed = new sfn.Fail(scope, 'RollbackFailed', {
    error: 'RollbackFailed',
    cause:
      'The switchover failed and so did its rollback: partitions may still be fenced. Intervene by hand.',
  });
  steps.rollback.addCatch(rollbackFailed, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackError' });
  steps.rollback.next(failed);
  steps.end.next(new sfn.Succeed(scope, 'SwitchoverSucceeded'));
  return steps.start;
}
