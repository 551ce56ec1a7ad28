/**
 * The re-homing steps shared by Switchover and Failback's switch-back: Fence -> wait until the target holds
 * every core event the source wrote to the partitions (CheckWatermark at once, then every
 * WATERMARK_POLL.intervalSeconds, at most maxAttempts times; each polls inside the task too) ->
 * [VerifyProbe ->] MoveHome -> Unfence -> CheckOtherTiers (the important/ordinary events written before the
 * fence, polled the same way); a failed task or a timeout
 * runs Rollback, which the caller chains to its own Fail state. A first Pass state draws the execution's
 * run id (`$.<prefix>Run.id`, States.UUID()): every change the steps make carries it, so Rollback undoes
 * only what this execution did (lib/runbooks/switchover-rollback.ts). A Rollback that refuses (the old home
 * is unreachable or lacks core writes the new home acknowledged) is not retried and ends the execution in
 * the `<prefix>RollbackRefused` Fail state, error `RollbackRefused`, with the partitions in the cause.
 *
 * Every state name carries `prefix` (empty for Switchover, `SwitchBack` inside Failback), and so does every
 * task's result key: `$.<prefix>Fence`, `$.<prefix>CheckWatermark.caughtUp` (read by the Choice),
 * `$.<prefix>WatermarkPoll.attempts` (counted by the machine, States.MathAdd). The handlers behind the
 * prefixed tasks reuse the Switchover tasks (lib/runbooks/failback-tasks.ts).
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { RunbookName } from '../../naming.ts';
import { LONG_TASK_TIMEOUT, WATERMARK_POLL } from './runbook-defaults.ts';
import { catchInto, resultKey, runbookTask } from './runbook-task.ts';

/** Error name of a Rollback that refused to move partitions back (lib/runbooks RollbackRefusedError). */
export const ROLLBACK_REFUSED = 'RollbackRefused';

export interface RehomeStepsOptions {
  readonly runbook: RunbookName;
  readonly fn: lambda.IFunction;
  /** Prefix of every state name and result key ('' keeps Switchover's historical names). */
  readonly prefix?: string;
  /**
   * Run VerifyProbe (the core rows of source and target compared) once the watermark is reached, before
   * MoveHome: the partitions are still fenced, so neither home can write and the rows must be identical.
   * After a cooperative Unfence the new home writes at once, so rows compared then would differ rightly.
   */
  readonly verify?: boolean;
}

export interface RehomeSteps {
  /** The first state (draws the run id, then Fence). */
  readonly start: sfn.IChainable;
  /** The last state of the success path: chain the caller's next state to it. */
  readonly end: sfn.INextable & sfn.IChainable;
  /** Runs after any failure of the steps (and on a watermark timeout): chain the caller's Fail to it. */
  readonly rollback: tasks.LambdaInvoke;
}

/** Builds the re-homing states inside `scope`. */
export function rehomeSteps(scope: Construct, options: RehomeStepsOptions): RehomeSteps {
  const prefix = options.prefix ?? '';
  const named = (name: string) => `${prefix}${name}`;
  const task = (name: string, timeout?: Duration) =>
    runbookTask(scope, {
      runbook: options.runbook,
      task: named(name),
      fn: options.fn,
      ...(timeout ? { timeout } : {}),
    });
  const fence = task('Fence');
  const checkWatermark = task('CheckWatermark');
  const moveHome = task('MoveHome');
  const unfence = task('Unfence');
  const verifyProbe = options.verify ? task('VerifyProbe') : undefined;
  const checkOtherTiers = task('CheckOtherTiers');
  const rollback = task('Rollback', LONG_TASK_TIMEOUT);
  // A refusal is an answer, not a fault: the partitions stay with their current homes, active.
  rollback.addRetry({ errors: [ROLLBACK_REFUSED], maxAttempts: 0 });
  // Rollback is idempotent and what it needs most (a quorum of control tables) is what a fault takes away
  // for a few seconds: retry any error (2, 4, 8, 16 s) before giving up with partitions still fenced.
  rollback.addRetry({
    errors: [sfn.Errors.ALL],
    interval: Duration.seconds(2),
    maxAttempts: 4,
    backoffRate: 2,
  });
  catchInto(
    rollback,
    fence,
    checkWatermark,
    moveHome,
    unfence,
    ...(verifyProbe ? [verifyProbe] : []),
    checkOtherTiers,
  );
  const refused = new sfn.Fail(scope, named('RollbackRefused'), {
    error: ROLLBACK_REFUSED,
    causePath: '$.rollbackError.Cause',
  });
  rollback.addCatch(refused, { errors: [ROLLBACK_REFUSED], resultPath: '$.rollbackError' });
  const begin = new sfn.Pass(scope, named('BeginRun'), {
    parameters: { 'id.$': 'States.UUID()' },
    resultPath: `$.${resultKey(named('Run'))}`,
  });

  const pollPath = `$.${resultKey(named('WatermarkPoll'))}`;
  const startPolling = new sfn.Pass(scope, named('StartWatermarkPoll'), {
    result: sfn.Result.fromObject({ attempts: 0 }),
    resultPath: pollPath,
  });
  const waitForWatermark = new sfn.Wait(scope, named('WaitForWatermark'), {
    time: sfn.WaitTime.duration(Duration.seconds(WATERMARK_POLL.intervalSeconds)),
  });
  const countAttempt = new sfn.Pass(scope, named('CountWatermarkPoll'), {
    parameters: { 'attempts.$': `States.MathAdd(${pollPath}.attempts, 1)` },
    resultPath: pollPath,
  });
  const timedOut = new sfn.Pass(scope, named('WatermarkTimedOut'), {
    result: sfn.Result.fromObject({
      Error: 'WatermarkTimeout',
      Cause: `The target's watermark did not cover the source within ${WATERMARK_POLL.maxAttempts} polls`,
    }),
    resultPath: '$.error',
  });
  timedOut.next(rollback);
  const reached = new sfn.Choice(scope, named('WatermarkReached'))
    .when(
      sfn.Condition.booleanEquals(`$.${resultKey(named('CheckWatermark'))}.caughtUp`, true),
      verifyProbe ?? moveHome,
    )
    .when(sfn.Condition.numberGreaterThanEquals(`${pollPath}.attempts`, WATERMARK_POLL.maxAttempts), timedOut)
    .otherwise(waitForWatermark);

  // The important/ordinary events written before the fence: not homed, so the core move does not wait for
  // them, but the execution succeeds only once the target holds them too (RPO 0 for every tier).
  const othersPath = `$.${resultKey(named('OtherTiersPoll'))}`;
  const startOthers = new sfn.Pass(scope, named('StartOtherTiersPoll'), {
    result: sfn.Result.fromObject({ attempts: 0 }),
    resultPath: othersPath,
  });
  const waitForOthers = new sfn.Wait(scope, named('WaitForOtherTiers'), {
    time: sfn.WaitTime.duration(Duration.seconds(WATERMARK_POLL.intervalSeconds)),
  });
  const countOthers = new sfn.Pass(scope, named('CountOtherTiersPoll'), {
    parameters: { 'attempts.$': `States.MathAdd(${othersPath}.attempts, 1)` },
    resultPath: othersPath,
  });
  const othersTimedOut = new sfn.Pass(scope, named('OtherTiersTimedOut'), {
    result: sfn.Result.fromObject({
      Error: 'OtherTiersTimeout',
      Cause: `The target did not receive the important/ordinary events written before the fence within ${WATERMARK_POLL.maxAttempts} polls`,
    }),
    resultPath: '$.error',
  });
  othersTimedOut.next(rollback);
  const othersDone = new sfn.Pass(scope, named('OtherTiersReplicated'));
  const othersReached = new sfn.Choice(scope, named('OtherTiersReached'))
    .when(sfn.Condition.booleanEquals(`$.${resultKey(named('CheckOtherTiers'))}.caughtUp`, true), othersDone)
    .when(
      sfn.Condition.numberGreaterThanEquals(`${othersPath}.attempts`, WATERMARK_POLL.maxAttempts),
      othersTimedOut,
    )
    .otherwise(waitForOthers);
  startOthers.next(checkOtherTiers).next(countOthers).next(othersReached);
  waitForOthers.next(checkOtherTiers);

  if (verifyProbe) verifyProbe.next(moveHome);
  moveHome.next(unfence).next(startOthers);
  // No Wait before the first check: CheckWatermark polls inside the task, and a source that confirms
  // its fence lets the new home take writes as soon as the target holds its head.
  fence.next(startPolling).next(checkWatermark).next(countAttempt).next(reached);
  waitForWatermark.next(checkWatermark);
  return { start: begin.next(fence), end: othersDone, rollback };
}
