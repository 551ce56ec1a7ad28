/**
 * Failback (a lost region returns). Its unreplicated events are reconciled, nothing is dropped.
 *
 * Execution input: `{ "region": "us-east-1", "switchBack"?: true, "partitions"?: [17, 42] }` where
 * `region` is the returning region; with `switchBack` its former partitions (those the failover record
 * moved away) are moved home again the way Switchover moves them: SwitchBackFence -> poll
 * SwitchBackCheckWatermark until the returning region holds every event of each partition's current home
 * (bounded by WATERMARK_POLL) -> SwitchBackMoveHome -> SwitchBackUnfence (rehome-steps.ts). A failed step
 * or a timeout runs SwitchBackRollback (the failover homes keep the partitions) and ends in
 * SwitchBackFailed with the region still drained; Failback is idempotent, so start it again.
 * Every task invokes the runbook function with `{ runbook: 'failback', task, input }` and its result is
 * kept at `$.<task>` (camelCase), see `runbookTask`; the machine reads only `$.switchBack`.
 * Shape: CatchUp (repair of the returning region) -> FindOrphans (its events no peer has) ->
 * ReconcileImportant (merge them) -> QueueCoreOrphans (core orphans to the manual queue) ->
 * SwitchBackRequested? -> [SwitchBack...] -> Undrain -> FailbackSucceeded; failures end in FailbackFailed.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { rehomeSteps } from './rehome-steps.ts';
import { LONG_TASK_TIMEOUT } from './runbook-defaults.ts';
import type { RunbookDefinitionProps } from './runbook-definition.ts';
import { catchInto, runbookTask } from './runbook-task.ts';

export function failbackDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const task = (name: string, timeout = LONG_TASK_TIMEOUT) =>
    runbookTask(scope, { runbook: 'Failback', task: name, fn, timeout });
  const catchUp = task('CatchUp');
  const findOrphans = task('FindOrphans');
  const reconcileImportant = task('ReconcileImportant');
  const queueCoreOrphans = task('QueueCoreOrphans');
  const switchBack = rehomeSteps(scope, { runbook: 'Failback', fn, prefix: 'SwitchBack' });
  const undrain = task('Undrain');

  const failed = new sfn.Fail(scope, 'FailbackFailed', {
    error: 'FailbackFailed',
    cause: 'A failback task failed; the region stays drained. Fix the cause and start the runbook again.',
  });
  catchInto(failed, catchUp, findOrphans, reconcileImportant, queueCoreOrphans, undrain);
  const switchBackFailed = new sfn.Fail(scope, 'SwitchBackFailed', {
    error: 'SwitchBackFailed',
    cause:
      'The switch-back failed or the returning region did not catch up in time, and was rolled back: the ' +
      'partitions stay with their failover homes and the region stays drained. Start Failback again.',
  });
  const rollbackFailed = new sfn.Fail(scope, 'SwitchBackRollbackFailed', {
    error: 'RollbackFailed',
    cause:
      'The switch-back failed and so did its rollback: partitions may still be fenced. Intervene by hand.',
  });
  switchBack.rollback.addCatch(rollbackFailed, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackError' });
  switchBack.rollback.next(switchBackFailed);

  const wantsSwitchBack = new sfn.Choice(scope, 'SwitchBackRequested')
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.switchBack'),
        sfn.Condition.booleanEquals('$.switchBack', true),
      ),
      switchBack.start,
    )
    .otherwise(undrain);
  switchBack.end.next(undrain);
  undrain.next(new sfn.Succeed(scope, 'FailbackSucceeded'));

  return catchUp.next(findOrphans).next(reconcileImportant).next(queueCoreOrphans).next(wantsSwitchBack);
}
