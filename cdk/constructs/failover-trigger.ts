import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Topology } from '../../lib/config/index.ts';
import { healthAlarmArn, queueName } from '../naming.ts';
import { failoverDutiesOf } from './failover-duty.ts';
import { failureQueue } from './queue-defaults.ts';

export interface FailoverTriggerProps {
  readonly topology: Topology;
  readonly region: string;
  readonly bus: events.IEventBus;
  readonly failover: sfn.IStateMachine;
}

/**
 * Starts this region's Failover runbook when the health-check alarm of a region it stands in for goes
 * to ALARM. The alarm lives in us-east-1 (Route 53 metrics exist only there); the global stack's rule
 * forwards its state-change event unchanged to this region's bus, because EventBridge delivers across
 * regions only to event buses. The event keeps `source: aws.cloudwatch` and the alarm ARN in
 * `resources`, so it never matches the replication rules.
 */
export class FailoverTrigger extends Construct {
  /** Failover starts that Step Functions refused or that could not be delivered. */
  public readonly deadLetters: sqs.Queue | undefined;
  public readonly rules: readonly events.Rule[];

  constructor(scope: Construct, id: string, props: FailoverTriggerProps) {
    super(scope, id);
    const { topology, region, bus, failover } = props;
    const duties = failoverDutiesOf(topology, region);
    this.deadLetters =
      duties.length > 0
        ? failureQueue(this, 'DeadLetters', queueName(topology.name, 'failover-dead-letters'))
        : undefined;
    this.rules = duties.map(
      (lost) =>
        new events.Rule(this, `Lost-${lost}`, {
          ruleName: `multiactive-${topology.name}-failover-${lost}`,
          eventBus: bus,
          description: `Health check of ${lost} in ALARM -> Failover runbook in ${region}`,
          eventPattern: {
            source: ['aws.cloudwatch'],
            detailType: ['CloudWatch Alarm State Change'],
            resources: [healthAlarmArn(topology, lost)],
            detail: { state: { value: ['ALARM'] } },
          },
          targets: [
            new targets.SfnStateMachine(failover, {
              input: events.RuleTargetInput.fromObject({
                region: lost,
                trigger: 'health-check-alarm',
                alarmName: events.EventField.fromPath('$.detail.alarmName'),
                time: events.EventField.time,
              }),
              retryAttempts: 10,
              deadLetterQueue: this.deadLetters,
            }),
          ],
        }),
    );
  }
}
