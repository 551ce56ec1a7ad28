/**
 * Failover (unplanned: a region is lost). Started by the health-check alarm (see GlobalStack and
 * FailoverTrigger) or by hand from the console.
 *
 * Execution input: `{ "region": "us-east-1", "trigger"?: "health-check-alarm" | "operator",
 * "alarmName"?: "...", "time"?: "..." }` where `region` is the region believed lost.
 * Every task invokes the runbook function with `{ runbook: 'failover', task, input }` and its result is
 * kept at `$.<task>` (camelCase), see `runbookTask`. The machine itself reads:
 * - `ConfirmRegionLost` -> `{ confirmed: boolean, votes?: ... }` at `$.confirmRegionLost`: true only
 *   when a majority of regions (including this one) cannot reach `region`.
 * Shape: ConfirmRegionLost -> RegionLostConfirmed? (no: refuse) -> ChooseNewHomes -> FencePartitions ->
 * CollectCopies -> BumpEpochs -> DrainAndRecord (Parallel: DrainRegion | RecordWatermarks) ->
 * MergeDrainAndRecord -> FailoverSucceeded. DrainRegion and RecordWatermarks read nothing of each other
 * and each is a quorum round trip or two, so they overlap; both still start only after BumpEpochs,
 * because a drained region is what tells the watchdogs the moves are done (no take-over, see claimAction) and the failover record lists moves made.
 * Each branch outputs its task's result alone (not the state: the Parallel's raw result, both branch
 * outputs, is held to the 256 KiB quota before ResultSelector, and two copies of the state need not fit
 * where one did); the Parallel's ResultSelector names them, its ResultPath puts them at
 * `$.recordWatermarks` for a moment, and the Pass MergeDrainAndRecord merges them into the state
 * (States.JsonMerge, shallow: `recordWatermarks` is overwritten by its own result) -> the same state,
 * with `$.drainRegion` and `$.recordWatermarks`, as if they had run one after the other. FencePartitions
 * fences (epoch + 1); CollectCopies (core.ack quorum) seals the survivors and gathers into each new home
 * the core events a majority of regions holds (leader completeness) -> `{ blocked: [{ partition,
 * reason }] }`; BumpEpochs activates the new homes (epoch + 2), leaving blocked partitions fenced. Any
 * task failure ends in FailoverFailed; every task must be idempotent, so the runbook can simply be
 * started again.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RunbookDefinitionProps } from './runbook-definition.ts';
import { catchInto, runbookTask } from './runbook-task.ts';

export function failoverDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const task = (name: string) => runbookTask(scope, { runbook: 'Failover', task: name, fn });
  const confirm = task('ConfirmRegionLost');
  const chooseNewHomes = task('ChooseNewHomes');
  const fencePartitions = task('FencePartitions');
  const collectCopies = task('CollectCopies');
  const bumpEpochs = task('BumpEpochs');
  // Parallel branches: each outputs its result alone (see the header).
  const branchTask = (name: string) =>
    runbookTask(scope, { runbook: 'Failover', task: name, fn, resultOnly: true });
  const drainRegion = branchTask('DrainRegion');
  const recordWatermarks = branchTask('RecordWatermarks');

  const failed = new sfn.Fail(scope, 'FailoverFailed', {
    error: 'FailoverFailed',
    cause: 'A failover task failed; every task is idempotent, so fix the cause and start the runbook again.',
  });
  catchInto(failed, confirm, chooseNewHomes, fencePartitions, collectCopies, bumpEpochs);
  // Two independent tasks at once; a failure of either fails the Parallel, caught like any task's.
  const drainAndRecord = new sfn.Parallel(scope, 'DrainAndRecord', {
    resultSelector: { 'drainRegion.$': '$[0]', 'recordWatermarks.$': '$[1]' },
    resultPath: '$.recordWatermarks',
  })
    .branch(drainRegion)
    .branch(recordWatermarks);
  catchInto(failed, drainAndRecord);
  const merge = new sfn.Pass(scope, 'MergeDrainAndRecord', {
    parameters: { 'state.$': 'States.JsonMerge($, $.recordWatermarks, false)' },
    outputPath: '$.state',
  });

  const refuse = new sfn.Fail(scope, 'RefuseFailover', {
    error: 'RegionNotLost',
    cause:
      'A majority of regions did not confirm the region lost (it is still reachable, or no majority could ' +
      'be formed): refusing to fail over, which could split ownership. Use Switchover for planned moves.',
  });
  const lost = new sfn.Choice(scope, 'RegionLostConfirmed')
    .when(sfn.Condition.booleanEquals('$.confirmRegionLost.confirmed', true), chooseNewHomes)
    .otherwise(refuse);

  chooseNewHomes
    .next(fencePartitions)
    .next(collectCopies)
    .next(bumpEpochs)
    .next(drainAndRecord)
    .next(merge)
    .next(new sfn.Succeed(scope, 'FailoverSucceeded'));
  return confirm.next(lost);
}
