import { describe, expect, it } from 'vitest';
import { stepsOf } from '../../../lib/ops/history.ts';
import type { AslDefinition, StateMachineSpec } from '../../../lib/sandbox/state-machines/definitions.ts';
import { StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';

/*
 * Review of i15-failover, claim (2): DrainRegion and RecordWatermarks now run in a Parallel, and
 * lib/ops/history.ts hides the Parallel so that its branches' states show as steps. But the renderer
 * still attributes every unnamed event (TaskScheduled / TaskFailed / LambdaFunctionFailed, which carry
 * no state name in GetExecutionHistory) to the LAST state entered. With two branches in flight that is
 * the wrong one. Interleaving:
 *   DrainAndRecord entered -> DrainRegion entered -> RecordWatermarks entered (current = RecordWatermarks)
 *   -> DrainRegion's Lambda fails (TaskFailed: attributed to RecordWatermarks)
 *   -> the Parallel fails, caught into FailoverFailed -> ExecutionFailed.
 * The ops report (CLI `runbook` follow, console, drills) then tells the operator that RecordWatermarks
 * failed with DrainRegion's error, and shows DrainRegion as still running: during an incident the
 * operator fixes the wrong thing. The Parallel below is the shape cdk/constructs/runbooks/failover.ts
 * synthesizes (ResultSelector JsonMerge, OutputPath $.state, Catch States.ALL into $.error).
 */
const region = 'eu-west-1';
const fn = (name: string) => `arn:aws:lambda:${region}:111111111111:function:${name}`;
const task = (name: string, result: string) => ({
  Type: 'Task',
  Resource: fn(name),
  ResultPath: `$.${result}`,
  End: true,
});
const machine: AslDefinition = {
  StartAt: 'BumpEpochs',
  States: {
    BumpEpochs: { Type: 'Task', Resource: fn('bump'), ResultPath: '$.bumpEpochs', Next: 'DrainAndRecord' },
    DrainAndRecord: {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'DrainRegion', States: { DrainRegion: task('drain', 'drainRegion') } },
        { StartAt: 'RecordWatermarks', States: { RecordWatermarks: task('record', 'recordWatermarks') } },
      ],
      ResultSelector: { 'state.$': 'States.JsonMerge($[0], $[1], false)' },
      OutputPath: '$.state',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FailoverFailed' }],
      Next: 'FailoverSucceeded',
    } as never,
    FailoverFailed: { Type: 'Fail', Error: 'FailoverFailed', Cause: 'a failover task failed' },
    FailoverSucceeded: { Type: 'Succeed' },
  },
} as AslDefinition;
const spec: StateMachineSpec = {
  name: 'Failover',
  region,
  arn: `arn:aws:states:${region}:111111111111:stateMachine:Failover`,
  definition: machine,
};

class TrafficUnavailable extends Error {
  override name = 'TrafficUnavailable';
}

describe('review-failover: the ops report of a Failover whose DrainAndRecord branch fails', () => {
  it('names DrainRegion as the failed step, not RecordWatermarks which was merely in flight', async () => {
    let recordEntered!: () => void;
    const recordStarted = new Promise<void>((resolve) => {
      recordEntered = resolve;
    });
    let releaseRecord!: () => void;
    const recordMayFinish = new Promise<void>((resolve) => {
      releaseRecord = resolve;
    });
    const runner = new StateMachineRunner({
      machines: [spec],
      invoke: async (_region, name) => {
        if (name === 'record') {
          recordEntered();
          await recordMayFinish; // still writing the failover record when the drain fails
          return { record: {} };
        }
        if (name === 'drain') {
          await recordStarted; // both branches are in flight
          releaseRecord();
          throw new TrafficUnavailable('traffic register: no quorum');
        }
        return { moved: [] };
      },
    });
    const { executionArn, done } = runner.start(region, 'Failover', { region: 'us-east-1' });
    const result = await done;
    expect(result.status).toBe('FAILED');

    const steps = stepsOf(runner.historyOf(executionArn));
    const byName = Object.fromEntries(steps.map((s) => [s.name, s]));
    expect(byName.DrainRegion).toMatchObject({ status: 'failed', error: 'TrafficUnavailable' });
    expect(byName.RecordWatermarks?.error).toBeUndefined();
  });
});
