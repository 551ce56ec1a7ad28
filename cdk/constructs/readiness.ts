import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import type { AwsReadinessNames } from '../../lib/ops/aws-readiness.ts';
import { READINESS_METRIC } from '../../lib/ops/scheduled-readiness.ts';
import {
  GLOBAL_REGION,
  METRICS_NAMESPACE,
  queueName,
  type RunbookName,
  regionalStackName,
  regionHostName,
  stateMachineArn,
} from '../naming.ts';
import { LAG_METRIC_SERVICE, NO_DLQ_REASON, serviceName } from './function-defaults.ts';
import { acknowledge } from './nag.ts';
import { READINESS_SERVICES } from './readiness-access.ts';

/** How often readiness is evaluated; the alarm's period is the same, one datapoint each. */
export const READINESS_SCHEDULE_MINUTES = 1;
/** Consecutive NOT READY evaluations (or evaluations missing) before the alarm: a blip is not an alarm. */
export const READINESS_ALARM_EVALUATIONS = 3;

/** The readiness alarm of every cell (the same name in each region, like the cell's other alarms). */
export function readinessAlarmName(env: string): string {
  return `multiactive-${env}-readiness`;
}

/** The names the readiness function reads (lib/ops/aws-readiness.ts), from cdk/naming.ts. */
export function readinessNames(topology: Topology): AwsReadinessNames {
  const region = '{region}';
  return {
    globalRegion: GLOBAL_REGION,
    stack: regionalStackName(topology.name, region),
    healthCheckHost: regionHostName(topology, region),
    stateMachineArn: stateMachineArn(topology, region, '{runbook}' as RunbookName),
    alarmPrefix: `multiactive-${topology.name}-`,
    readinessAlarm: readinessAlarmName(topology.name),
    queuePrefix: queueName(topology.name, ''),
    workQueues: [queueName(topology.name, 'ordinary-lane')],
    metrics: {
      namespace: METRICS_NAMESPACE,
      lagService: LAG_METRIC_SERVICE,
      readinessService: serviceName('readiness'),
    },
  };
}

/** The Readiness metric a cell's readiness function publishes (1 ready, 0 not), one datapoint a minute. */
export function readinessMetric(region: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: READINESS_METRIC,
    dimensionsMap: { service: serviceName('readiness') },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(READINESS_SCHEDULE_MINUTES),
    region,
  });
}

export interface ReadinessScheduleProps {
  readonly topology: Topology;
  readonly region: string;
  /** The cell's readiness function (its grants are rows of access-table.ts). */
  readonly fn: lambda.Function;
  /** Where the cell's alarms notify. */
  readonly topic: sns.ITopic;
}

/**
 * Readiness on a schedule: every cell evaluates the whole environment every minute (so losing any one
 * region, the global one included, leaves the others evaluating) and publishes the Readiness metric; the
 * alarm fires after READINESS_ALARM_EVALUATIONS minutes not ready. No datapoint counts as not ready: an
 * evaluation that could not run has not shown that a failover would succeed.
 */
export class ReadinessSchedule extends Construct {
  public readonly rule: events.Rule;
  public readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReadinessScheduleProps) {
    super(scope, id);
    const { topology, region, fn } = props;
    fn.addEnvironment('READINESS_NAMES', JSON.stringify(readinessNames(topology)));
    this.rule = new events.Rule(this, 'Schedule', {
      ruleName: `multiactive-${topology.name}-readiness`,
      description: 'Readiness (plan evaluation) of the environment, every minute',
      schedule: events.Schedule.rate(Duration.minutes(READINESS_SCHEDULE_MINUTES)),
      // A missed evaluation is replaced by the next one a minute later: no retries, no dead letters.
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });
    acknowledge(this.rule, 'Serverless-EventBusDLQ', NO_DLQ_REASON.readiness);
    // The function's grants are rows of the access table; the ARNs that end in * say why here.
    for (const row of READINESS_SERVICES.filter((r) => r.wildcard !== undefined)) {
      for (const arn of row.resources(topology, region))
        acknowledge(fn, `AwsSolutions-IAM5[Resource::${arn}]`, `${row.why}: ${row.wildcard}`);
    }
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: readinessAlarmName(topology.name),
      alarmDescription:
        `Not ready for a failover, as evaluated from ${region} for ${READINESS_ALARM_EVALUATIONS} minutes: ` +
        'run `multiactive readiness --env ' +
        `${topology.name}\` for the failing checks (the function's log has them too)`,
      metric: readinessMetric(region),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: READINESS_ALARM_EVALUATIONS,
      datapointsToAlarm: READINESS_ALARM_EVALUATIONS,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(props.topic));
    this.alarm.addOkAction(new actions.SnsAction(props.topic));
  }
}
