import { resourcesOfType, type StackEnvironment } from '../cdk/intrinsics.ts';
import type { CfnTemplate } from '../cdk/templates.ts';
import type { MetricId } from './metrics.ts';

export type Comparison =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
export type MissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export type Statistic = 'Maximum' | 'Minimum' | 'Sum' | 'Average' | 'SampleCount';

/** A synthesized CloudWatch alarm on a single metric, as the sandbox evaluates it. */
export interface AlarmSpec {
  readonly name: string;
  readonly region: string;
  readonly metric: MetricId;
  readonly statistic: Statistic;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly treatMissingData: MissingData;
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
}

/**
 * Every single-metric alarm of a template (metric-math alarms are listed in `skipped`), with the
 * dimension values resolved to what the sandbox's producers put (function names, queue names, ids).
 */
export function alarmsOf(
  template: CfnTemplate,
  env: StackEnvironment,
): { alarms: AlarmSpec[]; skipped: string[] } {
  const alarms: AlarmSpec[] = [];
  const skipped: string[] = [];
  for (const { logicalId, properties: p } of resourcesOfType(template, 'AWS::CloudWatch::Alarm', env)) {
    const name = typeof p.AlarmName === 'string' ? p.AlarmName : logicalId;
    if (typeof p.MetricName !== 'string' || typeof p.Namespace !== 'string') {
      skipped.push(name);
      continue;
    }
    const dimensions = Object.fromEntries(
      ((p.Dimensions as Array<{ Name: string; Value: unknown }> | undefined) ?? []).map((d) => [
        d.Name,
        String(d.Value),
      ]),
    );
    const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
    alarms.push({
      name,
      region: env.region,
      metric: { namespace: p.Namespace, name: p.MetricName, dimensions },
      statistic: (p.Statistic as Statistic | undefined) ?? 'Average',
      periodSeconds: Number(p.Period ?? 60),
      evaluationPeriods,
      datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
      threshold: Number(p.Threshold ?? 0),
      comparison: p.ComparisonOperator as Comparison,
      treatMissingData: (p.TreatMissingData as MissingData | undefined) ?? 'missing',
      alarmActions: ((p.AlarmActions as unknown[] | undefined) ?? []).map(String),
      okActions: ((p.OKActions as unknown[] | undefined) ?? []).map(String),
    });
  }
  return { alarms, skipped };
}
