import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { peersOf, type Topology } from '../../lib/config/index.ts';
import { TABLE_KINDS } from '../../lib/store/tables.ts';
import { RUNBOOK_NAMES } from '../naming.ts';
import { AlarmTopic } from './alarm-topic.ts';
import type { CellApi } from './cell-api.ts';
import type { CellFunctions } from './cell-functions.ts';
import { FUNCTION_NAMES } from './function-defaults.ts';
import { quarantineMetric, replicationLagMetric } from './metrics.ts';
import type { Runbooks } from './runbooks/runbooks.ts';
import type { Sagas } from './sagas/sagas.ts';
import type { Tables } from './tables.ts';

export { replicationLagMetric } from './metrics.ts';

export interface CellAlarmsProps {
  readonly topology: Topology;
  readonly region: string;
  readonly functions: CellFunctions;
  readonly api: CellApi;
  readonly tables: Tables;
  readonly runbooks: Runbooks;
  readonly sagas: Sagas;
  /** Every dead-letter queue of the cell, by purpose (`apply-dead-letters`, ...). */
  readonly deadLetterQueues: ReadonlyArray<readonly [string, sqs.IQueue]>;
  /** The ordinary lane's queue, alarmed when its backlog stays above `backlog` messages. */
  readonly laneQueue?: { readonly queue: sqs.IQueue; readonly backlog: number };
}

/** Runbooks whose failure may leave partitions with another home than planned, or fenced. */
const REHOME_RUNBOOKS: ReadonlySet<string> = new Set(['Switchover', 'Failback']);

/** A publisher this far behind its stream delays every replication link by as much. */
const ITERATOR_AGE_ALARM_MS = 60_000;

/** Executions of a state machine that failed or timed out, per 5 minutes. */
function executionsFailedOrTimedOut(machine: sfn.StateMachine, name: string): cloudwatch.IMetric {
  const period = { period: Duration.minutes(5) };
  return new cloudwatch.MathExpression({
    expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
    usingMetrics: { failed: machine.metricFailed(period), timedOut: machine.metricTimedOut(period) },
    ...period,
    label: `${name} failed or timed out`,
  });
}

/**
 * The cell's alarms, all notifying the topic `multiactive-<env>-alarms` of this region: replication lag
 * per peer, the publisher's stream iterator age, every dead-letter queue, quarantined events, errors and
 * throttles of every function, DynamoDB throttles of every table, failed or timed-out runbook and Saga
 * executions and API 5xx answers.
 */
export class CellAlarms extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CellAlarmsProps) {
    super(scope, id);
    const env = props.topology.name;
    this.topic = new AlarmTopic(this, 'Notifications', {
      topicName: `multiactive-${env}-alarms`,
      email: props.topology.monitoring.alarmEmail,
    }).topic;
    this.replicationAlarms(props);
    for (const [name, queue] of props.deadLetterQueues) {
      this.add(`NotEmpty-${name}`, {
        alarmName: `multiactive-${env}-${name}`,
        alarmDescription: `${name} holds work that was not delivered: inspect and redrive`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
      });
    }
    // applier-failures is a work queue (redriven to the applier): its records are mostly in flight or backing
    // off, invisible to ApproximateNumberOfMessagesVisible. Each record, visible or not, is an event this region
    // misses until its redrive succeeds: the alarm stays in ALARM as long as one is there. Its id (and so its
    // logical id) is the one the visible-messages alarm of the same name had: a new id would create the same
    // AlarmName before deleting the old resource.
    const failures = props.functions.applierFailures;
    const inQueue = { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) };
    this.add('NotEmpty-applier-failures', {
      alarmName: `multiactive-${env}-applier-failures`,
      alarmDescription:
        'Real-time applies that failed three times (Lambda retries twice) wait in applier-failures, which redrives them: this region misses those events until their redrive succeeds (applier-failures-dead-letters after 60 receives)',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(visible, 0) + FILL(inFlight, 0)',
        usingMetrics: {
          visible: failures.metricApproximateNumberOfMessagesVisible(inQueue),
          inFlight: failures.metricApproximateNumberOfMessagesNotVisible(inQueue),
        },
        period: Duration.minutes(1),
        label: 'applier-failures records, visible or in flight',
      }),
      threshold: 0,
    });
    if (props.laneQueue) {
      this.add('OrdinaryLaneBacklog', {
        alarmName: `multiactive-${env}-ordinary-lane-backlog`,
        alarmDescription:
          'The ordinary lane keeps a backlog: its applier invocations fail or cannot keep up (ordinary data lags)',
        metric: props.laneQueue.queue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MINIMUM,
        }),
        threshold: props.laneQueue.backlog,
        evaluationPeriods: 3,
      });
    }
    this.functionAlarms(props);
    this.tableAlarms(props);
    this.runbookAlarms(props);
    this.add('Executions-Saga', {
      alarmName: `multiactive-${env}-Saga-failed`,
      alarmDescription:
        'Saga executions failed or timed out (InDoubt: a step kept failing); the recovery sweep resumes the transfer',
      metric: executionsFailedOrTimedOut(props.sagas.machine, 'Saga'),
      threshold: 0,
    });
    this.add('Api5xx', {
      alarmName: `multiactive-${env}-api-5xx`,
      alarmDescription: 'The HTTP API returns server errors',
      metric: props.api.httpApi.metricServerError({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 5,
    });
  }

  private replicationAlarms({ topology, region, functions }: CellAlarmsProps): void {
    const env = topology.name;
    for (const peer of peersOf(topology, region)) {
      // Three minutes over the degrade threshold: the sync breaker has already opened by then.
      this.add(`LagFrom-${peer}`, {
        alarmName: `multiactive-${env}-lag-${peer}-to-${region}`,
        alarmDescription: `Replication lag from ${peer} to ${region} over ${topology.thresholds.degradeLagMs} ms`,
        metric: replicationLagMetric(peer, region),
        threshold: topology.thresholds.degradeLagMs,
        evaluationPeriods: 3,
        // No data means the lag monitor is not running; its own error alarm covers that.
      });
    }
    this.add('IteratorAge', {
      alarmName: `multiactive-${env}-publisher-iterator-age`,
      alarmDescription: 'The publisher is more than a minute behind the events table stream',
      metric: functions.byName.publisher.metric('IteratorAge', {
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(1),
      }),
      threshold: ITERATOR_AGE_ALARM_MS,
      evaluationPeriods: 3,
    });
    this.add('Quarantine', {
      alarmName: `multiactive-${env}-quarantined-events`,
      alarmDescription: 'The applier quarantined events it could not apply',
      metric: quarantineMetric(region),
      threshold: 0,
    });
  }

  private functionAlarms({ topology, functions }: CellAlarmsProps): void {
    for (const name of FUNCTION_NAMES) {
      const fn = functions.byName[name];
      this.add(`Errors-${name}`, {
        alarmName: `multiactive-${topology.name}-${name}-errors`,
        alarmDescription: `The ${name} function is failing`,
        metric: fn.metricErrors({ period: Duration.minutes(5) }),
        threshold: 0,
      });
      this.add(`Throttles-${name}`, {
        alarmName: `multiactive-${topology.name}-${name}-throttles`,
        alarmDescription: `Lambda throttles the ${name} function (concurrency limit reached)`,
        metric: fn.metricThrottles({ period: Duration.minutes(5) }),
        threshold: 0,
      });
    }
  }

  private tableAlarms({ topology, tables }: CellAlarmsProps): void {
    for (const kind of TABLE_KINDS) {
      const table = tables.byKind[kind];
      const metric = (name: string) =>
        table.metric(name, { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) });
      this.add(`Throttles-table-${kind}`, {
        alarmName: `multiactive-${topology.name}-${kind}-table-throttles`,
        alarmDescription: `DynamoDB throttles requests on the ${kind} table`,
        metric: new cloudwatch.MathExpression({
          expression: 'FILL(reads, 0) + FILL(writes, 0)',
          usingMetrics: { reads: metric('ReadThrottleEvents'), writes: metric('WriteThrottleEvents') },
          period: Duration.minutes(5),
          label: `${kind} throttle events`,
        }),
        threshold: 0,
      });
    }
  }

  private runbookAlarms({ topology, runbooks }: CellAlarmsProps): void {
    for (const runbook of RUNBOOK_NAMES) {
      const machine = runbooks.byName[runbook];
      this.add(`Executions-${runbook}`, {
        alarmName: `multiactive-${topology.name}-${runbook}-failed`,
        alarmDescription: REHOME_RUNBOOKS.has(runbook)
          ? `${runbook} executions failed or timed out: read the error and cause (RollbackRefused names the partitions left with their current homes; after RollbackFailed they stay fenced)`
          : `${runbook} executions failed or timed out`,
        metric: executionsFailedOrTimedOut(machine, runbook),
        threshold: 0,
      });
    }
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
