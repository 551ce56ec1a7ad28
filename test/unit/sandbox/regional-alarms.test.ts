import { describe, expect, it } from 'vitest';
import { AlarmEvaluator, type AlarmSpec, LocalMetrics } from '../../../lib/sandbox/cloudwatch/index.ts';

/** A cell's readiness alarm: the same name and metric in every region, as synthesized. */
const readiness = (region: string): AlarmSpec => ({
  name: 'multiactive-dev-readiness',
  region,
  metric: { namespace: 'multiactive', name: 'Readiness', dimensions: { service: 'multiactive-readiness' } },
  statistic: 'Maximum',
  periodSeconds: 60,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  threshold: 1,
  comparison: 'LessThanThreshold',
  treatMissingData: 'breaching',
  alarmActions: [],
  okActions: [],
});

describe("the sandbox's CloudWatch is regional", () => {
  it('keeps the same metric of two regions apart, and evaluates same-named alarms of two regions each on its own', () => {
    let now = 0;
    const metrics = new LocalMetrics(3_600_000, () => now);
    const evaluator = new AlarmEvaluator({
      alarms: [readiness('us-east-1'), readiness('eu-west-1')],
      metrics,
      timeScale: 0.1,
      now: () => now,
    });
    evaluator.start();
    evaluator.stop();
    now = 1_000;
    metrics.put({ ...readiness('us-east-1').metric, region: 'us-east-1' }, 1);
    metrics.put({ ...readiness('eu-west-1').metric, region: 'eu-west-1' }, 0);
    now = 6_000;
    evaluator.evaluateDue();
    expect(evaluator.snapshot()).toEqual({
      'us-east-1/multiactive-dev-readiness': 'OK',
      'eu-west-1/multiactive-dev-readiness': 'ALARM',
    });
  });

  it('counts a datapoint put without a region in every region (producers that name none)', () => {
    const metrics = new LocalMetrics(3_600_000, () => 0);
    const metric = readiness('us-east-1').metric;
    metrics.put(metric, 1, 100);
    expect(metrics.values({ ...metric, region: 'eu-west-1' }, 0, 1_000)).toEqual([1]);
    metrics.put({ ...metric, region: 'us-east-1' }, 0, 200);
    expect(metrics.values({ ...metric, region: 'us-east-1' }, 0, 1_000).sort()).toEqual([0, 1]);
    expect(metrics.values({ ...metric, region: 'eu-west-1' }, 0, 1_000)).toEqual([1]);
  });
});
