import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { outcomeOf, stepsOf } from '../../../lib/ops/history.ts';

const t0 = Date.parse('2026-11-30T10:00:00Z');
let id = 0;
const ev = (second: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({
  id: ++id,
  previousEventId: id - 1,
  timestamp: new Date(t0 + second * 1000),
  type: type as HistoryEvent['type'],
  ...extra,
});
const entered = (s: number, kind: string, name: string) =>
  ev(s, `${kind}StateEntered`, { stateEnteredEventDetails: { name } });
const exited = (s: number, kind: string, name: string) =>
  ev(s, `${kind}StateExited`, { stateExitedEventDetails: { name } });

/** A Switchover as GetExecutionHistory returns it: Fence, two watermark polls with a Wait, a caught failure. */
function switchoverHistory(): HistoryEvent[] {
  id = 0;
  return [
    ev(0, 'ExecutionStarted', {
      executionStartedEventDetails: { input: '{"partitions":[17],"to":"eu-west-1"}' },
    }),
    entered(0, 'Task', 'Fence'),
    ev(0, 'TaskScheduled'),
    ev(0.1, 'TaskStarted'),
    ev(0.4, 'TaskSucceeded'),
    exited(0.4, 'Task', 'Fence'),
    entered(0.4, 'Task', 'CheckWatermark'),
    ev(0.9, 'TaskSucceeded'),
    exited(0.9, 'Task', 'CheckWatermark'),
    entered(0.9, 'Choice', 'CaughtUp?'),
    exited(0.9, 'Choice', 'CaughtUp?'),
    entered(0.9, 'Wait', 'WaitForWatermark'),
    exited(5.9, 'Wait', 'WaitForWatermark'),
    entered(5.9, 'Task', 'CheckWatermark'),
    ev(6.2, 'TaskSucceeded'),
    exited(6.2, 'Task', 'CheckWatermark'),
    entered(6.2, 'Task', 'MoveHome'),
    ev(6.5, 'TaskFailed', {
      taskFailedEventDetails: {
        error: 'QuorumUnavailableError',
        cause: 'no majority',
        resource: 'invoke',
        resourceType: 'lambda',
      },
    }),
    exited(6.5, 'Task', 'MoveHome'),
    entered(6.5, 'Task', 'Rollback'),
    ev(7, 'TaskSucceeded'),
    exited(7, 'Task', 'Rollback'),
    entered(7, 'Fail', 'SwitchoverFailed'),
    ev(7, 'ExecutionFailed', {
      executionFailedEventDetails: { error: 'SwitchoverFailed', cause: 'rolled back' },
    }),
  ];
}

describe('stepsOf (execution history -> steps)', () => {
  it('merges a polling loop into one step with its visits and keeps first-entry order', () => {
    const steps = stepsOf(switchoverHistory());
    expect(steps.map((s) => [s.name, s.status, s.visits])).toEqual([
      ['Fence', 'succeeded', 1],
      ['CheckWatermark', 'succeeded', 2],
      ['WaitForWatermark', 'succeeded', 1],
      ['MoveHome', 'failed', 1],
      ['Rollback', 'succeeded', 1],
      ['SwitchoverFailed', 'failed', 1],
    ]);
    expect(steps[1]).toMatchObject({ startedAt: t0 + 400, endedAt: t0 + 6200 });
    expect(steps[3]).toMatchObject({ error: 'QuorumUnavailableError', cause: 'no majority' });
  });

  it('shows a running step while the execution is in flight', () => {
    const steps = stepsOf(switchoverHistory().slice(0, 8));
    expect(steps.map((s) => `${s.name}:${s.status}`)).toEqual(['Fence:succeeded', 'CheckWatermark:running']);
    expect(steps[1]!.endedAt).toBeUndefined();
  });

  it("counts a Map state's iterations as progress instead of listing inner states", () => {
    id = 0;
    const history = [
      entered(0, 'Task', 'ListPartitions'),
      exited(0.2, 'Task', 'ListPartitions'),
      entered(0.2, 'Map', 'RepairPartitions'),
      ev(0.2, 'MapStateStarted', { mapStateStartedEventDetails: { length: 3 } }),
      ev(0.2, 'MapIterationStarted'),
      entered(0.2, 'Task', 'BuildTrees'),
      exited(0.5, 'Task', 'BuildTrees'),
      ev(0.5, 'MapIterationSucceeded'),
      ev(0.6, 'MapIterationFailed'),
    ];
    const running = stepsOf(history);
    expect(running.map((s) => s.name)).toEqual(['ListPartitions', 'RepairPartitions']);
    expect(running[1]).toMatchObject({ status: 'running', iterations: { done: 1, failed: 1, total: 3 } });
    const done = stepsOf([
      ...history,
      ev(0.9, 'MapIterationSucceeded'),
      ev(1, 'MapStateSucceeded'),
      exited(1, 'Map', 'RepairPartitions'),
    ]);
    expect(done[1]).toMatchObject({
      status: 'succeeded',
      iterations: { done: 2, failed: 1, total: 3 },
      endedAt: t0 + 1000,
    });
  });

  it("lists a Parallel's branch states as steps, not the Parallel itself", () => {
    id = 0;
    const steps = stepsOf([
      ev(0, 'ExecutionStarted'),
      entered(0, 'Task', 'BumpEpochs'),
      exited(0.3, 'Task', 'BumpEpochs'),
      entered(0.3, 'Parallel', 'DrainAndRecord'),
      entered(0.3, 'Task', 'DrainRegion'),
      entered(0.3, 'Task', 'RecordWatermarks'),
      exited(0.45, 'Task', 'DrainRegion'),
      exited(0.5, 'Task', 'RecordWatermarks'),
      exited(0.5, 'Parallel', 'DrainAndRecord'),
      ev(0.5, 'ExecutionSucceeded'),
    ]);
    expect(steps.map((s) => `${s.name} ${s.status}`)).toEqual([
      'BumpEpochs succeeded',
      'DrainRegion succeeded',
      'RecordWatermarks succeeded',
    ]);
  });

  it("blames a Parallel branch's task failure on its own state, linked by previousEventId as AWS links them", () => {
    id = 0;
    const start = ev(0, 'ExecutionStarted');
    const parallel = entered(0.3, 'Parallel', 'DrainAndRecord');
    const drain = entered(0.3, 'Task', 'DrainRegion');
    const record = entered(0.3, 'Task', 'RecordWatermarks');
    // Each branch's task events chain to its own TaskStateEntered, interleaved with the other branch's.
    const drainScheduled = ev(0.3, 'TaskScheduled', { previousEventId: drain.id });
    const recordScheduled = ev(0.3, 'TaskScheduled', { previousEventId: record.id });
    const drainStarted = ev(0.31, 'TaskStarted', { previousEventId: drainScheduled.id });
    const recordStarted = ev(0.31, 'TaskStarted', { previousEventId: recordScheduled.id });
    const drainFailed = ev(0.4, 'TaskFailed', {
      previousEventId: drainStarted.id,
      taskFailedEventDetails: { error: 'TrafficUnavailable', resource: 'invoke', resourceType: 'lambda' },
    });
    const steps = stepsOf([
      start,
      parallel,
      drain,
      record,
      drainScheduled,
      recordScheduled,
      drainStarted,
      recordStarted,
      drainFailed,
      ev(0.41, 'ParallelStateFailed'),
      entered(0.41, 'Fail', 'FailoverFailed'),
      ev(0.41, 'ExecutionFailed', { executionFailedEventDetails: { error: 'FailoverFailed' } }),
    ]);
    const byName = Object.fromEntries(steps.map((s) => [s.name, s]));
    expect(byName.DrainRegion).toMatchObject({ status: 'failed', error: 'TrafficUnavailable' });
    expect(byName.RecordWatermarks?.error).toBeUndefined();
    expect(byName.FailoverFailed).toMatchObject({ status: 'failed', error: 'FailoverFailed' });
  });

  it('a retried task that then succeeds is not a failed step', () => {
    id = 0;
    const steps = stepsOf([
      entered(0, 'Task', 'Rollback'),
      ev(0.1, 'TaskFailed', {
        taskFailedEventDetails: { error: 'Timeout', resource: 'invoke', resourceType: 'lambda' },
      }),
      ev(2, 'TaskScheduled'),
      ev(2.5, 'TaskSucceeded'),
      exited(2.5, 'Task', 'Rollback'),
    ]);
    expect(steps[0]).toMatchObject({ status: 'succeeded' });
  });

  it('reads the outcome from the terminal event', () => {
    expect(outcomeOf(switchoverHistory())).toMatchObject({ status: 'FAILED', error: 'SwitchoverFailed' });
    expect(outcomeOf(switchoverHistory().slice(0, 5))).toBeUndefined();
  });
});
