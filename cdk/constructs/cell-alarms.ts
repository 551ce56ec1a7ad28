import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { peersOf, type Topology } from '../../lib/config/index.ts';
import { METRICS_NAMESPACE } from '../naming.ts';
import type { CellApi } from './cell-api.ts';
import type { CellFunctions } from './cell-functions.ts';
import { LAG_METRIC_SERVICE, QUARANTINE_METRIC_SERVICE } from './function-defaults.ts';
import type { ReplicationBus } from './replication-bus.ts';

export interface CellAlarmsProps {
  readonly topology: Topology;
  readonly region: string;
  readonly functions: CellFunctions;
  readonly replication: ReplicationBus;
  readonly api: CellApi;
  /** Runbooks whose failed executions need an operator (Switchover, Failback: RollbackRefused and co.). */
  readonly rehomeRunbooks?: Readonly<Record<string, sfn.IStateMachine>>;
}

/**
 * Powertools emits EMF with one dimension set: `service` (POWERTOOLS_SERVICE_NAME) first, then the
 * dimensions the handler adds. CloudWatch matches the exact set, so alarms name all of them.
 */
export function replicationLagMetric(from: string, to: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'ReplicationLagMs',
    dimensionsMap: { service: LAG_METRIC_SERVICE, From: from, To: to },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
  });
}

/** The cell's alarms, all notifying the topic `multiactive-<env>-alarms` of this region. */
export class CellAlarms extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CellAlarmsProps) {
    super(scope, id);
    const { topology, region, functions, replication, api } = props;
    const env = topology.name;
    this.topic = new sns.Topic(this, 'Topic', { topicName: `multiactive-${env}-alarms`, enforceSSL: true });

    for (const peer of peersOf(topology, region)) {
      // Three minutes over the degrade threshold: the sync breaker has already opened by then.
      this.add(`LagFrom-${peer}`, {
        alarmName: `multiactive-${env}-lag-${peer}-to-${region}`,
        alarmDescription: `Replication lag from ${peer} to ${region} over ${topology.thresholds.degradeLagMs} ms`,
        metric: replicationLagMetric(peer, region),
        threshold: topology.thresholds.degradeLagMs,
        evaluationPeriods: 3,
        // No data means the lag monitor is not running; its own error alarm covers that.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    const queues: Array<[string, sqs.IQueue]> = [
      ['publisher-failures', functions.publisherFailures],
      ['applier-failures', functions.applierFailures],
      ['apply-dead-letters', replication.applyDeadLetters],
      ['forward-dead-letters', replication.forwardDeadLetters],
    ];
    for (const [name, queue] of queues) {
      this.add(`NotEmpty-${name}`, {
        alarmName: `multiactive-${env}-${name}`,
        alarmDescription: `${name} holds undelivered replication work: inspect and redrive`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
      });
    }

    this.add('Quarantine', {
      alarmName: `multiactive-${env}-quarantined-events`,
      alarmDescription: 'The applier quarantined events it could not apply',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'QuarantinedEvents',
        dimensionsMap: { service: QUARANTINE_METRIC_SERVICE },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 0,
    });

    for (const name of ['publisher', 'applier', 'lag-monitor', 'health', 'watchdog'] as const) {
      this.add(`Errors-${name}`, {
        alarmName: `multiactive-${env}-${name}-errors`,
        alarmDescription: `The ${name} function is failing`,
        metric: functions.byName[name].metricErrors({ period: Duration.minutes(5) }),
        threshold: 0,
      });
    }

    // A failed Switchover or Failback may leave partitions with another home than planned (RollbackRefused
    // says which and why in the execution's cause) or, after RollbackFailed, fenced.
    for (const [name, machine] of Object.entries(props.rehomeRunbooks ?? {})) {
      this.add(`RunbookFailed-${name}`, {
        alarmName: `multiactive-${env}-runbook-${name}-failed`,
        alarmDescription: `A ${name} execution failed: read its error and cause (RollbackRefused names the partitions left with their current homes)`,
        metric: machine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 0,
      });
    }

    this.add('Api5xx', {
      alarmName: `multiactive-${env}-api-5xx`,
      alarmDescription: 'The HTTP API returns server errors',
      metric: api.httpApi.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 5,
    });
  }

  private add(
    id: string,
    props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number },
  ) {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
      evaluationPeriods: props.evaluationPeriods ?? 1,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
