/**
 * Repair (anti-entropy: each region hashes its events per partition into a Merkle tree; differing
 * ranges are fetched and replayed through the applier). Scheduled off-peak or run on demand.
 *
 * Execution input: `{ "partitions"?: [17, 42], "peers"?: ["eu-west-1"] }` (default: all of both).
 * Every task invokes the runbook function with `{ runbook: 'repair', task, input }`, result at
 * `$.<task>` (camelCase), see `runbookTask`. The machine itself reads:
 * - `ListPartitions` -> `{ partitions: Array<{ partition: number, peers: string[] }> }`: each item is
 *   the input of one Map iteration, where BuildTrees/Diff/Replay results accumulate the same way;
 * - an iteration's output is the `Replay` result alone (keep it small: `{ partition, replayed }`), or
 *   `{ partition, error: { Error } }` when one of its tasks failed: one bad partition does not stop the others;
 * - `Report` receives all iteration outputs at `$.repairPartitions`.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { LONG_TASK_TIMEOUT, REPAIR_MAX_CONCURRENCY } from './runbook-defaults.ts';
import type { RunbookDefinitionProps } from './runbook-definition.ts';
import { catchInto, runbookTask } from './runbook-task.ts';

export function repairDefinition(scope: Construct, { fn }: RunbookDefinitionProps): sfn.IChainable {
  const task = (name: string, timeout = LONG_TASK_TIMEOUT) =>
    runbookTask(scope, { runbook: 'Repair', task: name, fn, timeout });
  const listPartitions = task('ListPartitions');
  const buildTrees = task('BuildTrees');
  const diff = task('Diff');
  const replay = task('Replay');
  const report = task('Report');

  // Only the error's name: its Cause (the Lambda's error document, a stack trace on AWS) would be kept in
  // the Map's output once per failed item and could pass the 256 KiB state quota.
  const partitionFailed = new sfn.Pass(scope, 'PartitionFailed', {
    parameters: { 'partition.$': '$.partition', error: { 'Error.$': '$.error.Error' } },
  });
  catchInto(partitionFailed, buildTrees, diff, replay);
  const partitionRepaired = new sfn.Pass(scope, 'PartitionRepaired', { inputPath: '$.replay' });

  const perPartition = new sfn.Map(scope, 'RepairPartitions', {
    itemsPath: '$.listPartitions.partitions',
    maxConcurrency: REPAIR_MAX_CONCURRENCY,
    resultPath: '$.repairPartitions',
  });
  perPartition.itemProcessor(buildTrees.next(diff).next(replay).next(partitionRepaired));

  const failed = new sfn.Fail(scope, 'RepairFailed', {
    error: 'RepairFailed',
    cause: 'Repair could not list partitions, run its Map or report. Repair is idempotent: run it again.',
  });
  catchInto(failed, listPartitions, perPartition, report);
  return listPartitions.next(perPartition).next(report).next(new sfn.Succeed(scope, 'RepairSucceeded'));
}
