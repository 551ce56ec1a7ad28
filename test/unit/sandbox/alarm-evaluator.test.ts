import { describe, expect, it } from 'vitest';
import {
  AlarmEvaluator,
  type AlarmSpec,
  evaluateAlarm,
  LocalMetrics,
} from '../../../lib/sandbox/cloudwatch/index.ts';

/** The GlobalStack's health alarm: HealthCheckStatus, Minimum over 60 s, 2 of 2 below 1. */
const health: AlarmSpec = {
  name: 'multiactive-dev-health-us-east-1',
  region: 'us-east-1',
  metric: { namespace: 'AWS/Route53', name: 'HealthCheckStatus', dimensions: { HealthCheckId: 'hc' } },
  statistic: 'Minimum',
  periodSeconds: 60,
  evaluationPeriods: 2,
  datapointsToAlarm: 2,
  threshold: 1,
  comparison: 'LessThanThreshold',
  treatMissingData: 'notBreaching',
  alarmActions: [],
  okActions: [],
};

describe("the sandbox's CloudWatch alarms", () => {
  it('go to ALARM only when datapointsToAlarm of the last periods breach, as synthesized', () => {
    const metrics = new LocalMetrics();
    const put = (value: number, at: number) => metrics.put(health.metric, value, at);
    const at = (end: number) =>
      evaluateAlarm(health, metrics, { end, periodMs: 60_000, current: 'OK' }).state;
    put(1, 10_000);
    put(0, 70_000); // one bad minute (the Minimum of the period is 0)
    put(1, 80_000);
    expect(at(120_000)).toBe('OK');
    put(0, 130_000); // a second bad minute in a row
    expect(at(180_000)).toBe('ALARM');
    expect(at(240_000)).toBe('OK'); // no data in the last minute: notBreaching
  });

  it('treats missing data as the alarm says', () => {
    const metrics = new LocalMetrics();
    const state = (treatMissingData: AlarmSpec['treatMissingData'], current: 'OK' | 'ALARM' = 'OK') =>
      evaluateAlarm({ ...health, treatMissingData }, metrics, { end: 120_000, periodMs: 60_000, current })
        .state;
    expect(state('breaching')).toBe('ALARM');
    expect(state('notBreaching')).toBe('OK');
    expect(state('missing')).toBe('INSUFFICIENT_DATA');
    expect(state('ignore', 'ALARM')).toBe('ALARM');
  });

  it('evaluates at the end of each period scaled by the time scale, and reports state changes', () => {
    let now = 0;
    const metrics = new LocalMetrics(3_600_000, () => now);
    const changes: string[] = [];
    const evaluator = new AlarmEvaluator({
      alarms: [health],
      metrics,
      timeScale: 0.05, // 60 s periods become 3 s
      now: () => now,
      onChange: (c) => changes.push(`${c.previous}->${c.state}`),
    });
    evaluator.start();
    evaluator.stop();
    for (const t of [500, 3_500]) {
      now = t;
      metrics.put(health.metric, 0);
    }
    now = 3_000;
    evaluator.evaluateDue();
    now = 6_000;
    evaluator.evaluateDue();
    expect(changes).toEqual(['INSUFFICIENT_DATA->OK', 'OK->ALARM']);
  });
});
