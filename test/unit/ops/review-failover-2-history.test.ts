import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { stepsOf } from '../../../lib/ops/history.ts';

/*
 * Review 2 of i15-failover (88c2982): the step list settles a failed branch task when its Parallel or the
 * execution ends, but only the steps in `failedSteps`. The OTHER branch's task, in flight when its sibling
 * failed, is aborted by Step Functions (TaskStateAborted: not a *Failed type, no failure details) and never
 * exits, so it stays 'running' forever in the step list of a FAILED execution: `multiactive ops` / the
 * report / the region-loss drill show "RecordWatermarks running" after FailoverFailed. Before the Parallel
 * (sequential tasks) there was never a second task in flight, so this is new with DrainAndRecord.
 * Fix: when a Parallel fails/aborts or the execution ends, settle every step still 'running' that belongs to
 * it (aborted, or failed), not only the ones whose task failed.
 */
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

describe('review-failover-2: the step list of a Failover whose DrainRegion failed inside the Parallel', () => {
  it('leaves no step running once the execution failed (the aborted sibling branch included)', () => {
    id = 0;
    const start = ev(0, 'ExecutionStarted');
    const parallel = entered(0.3, 'Parallel', 'DrainAndRecord');
    const drain = entered(0.3, 'Task', 'DrainRegion');
    const record = entered(0.3, 'Task', 'RecordWatermarks');
    const drainScheduled = ev(0.3, 'TaskScheduled', { previousEventId: drain.id });
    const recordScheduled = ev(0.3, 'TaskScheduled', { previousEventId: record.id });
    const drainStarted = ev(0.31, 'TaskStarted', { previousEventId: drainScheduled.id });
    const recordStarted = ev(0.31, 'TaskStarted', { previousEventId: recordScheduled.id });
    const drainFailed = ev(0.4, 'TaskFailed', {
      previousEventId: drainStarted.id,
      taskFailedEventDetails: { error: 'TrafficUnavailable', resource: 'invoke', resourceType: 'lambda' },
    });
    const recordAborted = ev(0.4, 'TaskStateAborted', {
      previousEventId: recordStarted.id,
      stateExitedEventDetails: { name: 'RecordWatermarks' },
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
      recordAborted,
      ev(0.41, 'ParallelStateFailed'),
      entered(0.41, 'Fail', 'FailoverFailed'),
      ev(0.41, 'ExecutionFailed', { executionFailedEventDetails: { error: 'FailoverFailed' } }),
    ]);
    expect(steps.filter((s) => s.status === 'running').map((s) => s.name)).toEqual([]);
    const status = Object.fromEntries(steps.map((s) => [s.name, s.status]));
    expect(status).toMatchObject({ DrainRegion: 'failed', RecordWatermarks: 'aborted' });
    expect(steps.find((s) => s.name === 'RecordWatermarks')?.error).toBeUndefined();
  });

  it('ends a step whose abort the history lacks (a sandbox history) with the execution: aborted on a failure, succeeded on success', () => {
    id = 0;
    const start = ev(0, 'ExecutionStarted');
    const parallel = entered(0.3, 'Parallel', 'DrainAndRecord');
    const drain = entered(0.3, 'Task', 'DrainRegion');
    const record = entered(0.3, 'Task', 'RecordWatermarks');
    const drainFailed = ev(0.4, 'TaskFailed', {
      previousEventId: drain.id,
      taskFailedEventDetails: { error: 'TrafficUnavailable', resource: 'invoke', resourceType: 'lambda' },
    });
    const failed = stepsOf([
      start,
      parallel,
      drain,
      record,
      drainFailed,
      ev(0.41, 'ExecutionFailed', { executionFailedEventDetails: { error: 'TrafficUnavailable' } }),
    ]);
    expect(Object.fromEntries(failed.map((s) => [s.name, s.status]))).toEqual({
      DrainRegion: 'failed',
      RecordWatermarks: 'aborted',
    });
    id = 0;
    const done = stepsOf([
      ev(0, 'ExecutionStarted'),
      entered(0.1, 'Map', 'Replay'),
      ev(0.5, 'ExecutionSucceeded'),
    ]);
    expect(done.map((s) => s.status)).toEqual(['succeeded']);
  });
});
