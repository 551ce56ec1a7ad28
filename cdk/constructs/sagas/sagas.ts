import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Topology } from '../../../lib/config/index.ts';
import { SAGA_MACHINE, sagaStateMachineName } from '../../naming.ts';
import { LOG_RETENTION } from '../function-defaults.ts';
import { acknowledge, nagArnToken, XRAY_WILDCARD_REASON } from '../nag.ts';
import { SAGA_EXECUTION_TIMEOUT } from './saga-defaults.ts';
import { sagaDefinition } from './saga-definition.ts';

/** What the schedule sends the saga function: its recovery sweep. */
export const SWEEP_INPUT = { task: 'Sweep' } as const;

export interface SagasProps {
  readonly topology: Topology;
  /** This region's saga function: every task of the machine and the sweep invoke it. */
  readonly fn: lambda.IFunction;
}

/**
 * The Saga state machine (`multiactive-<env>-Saga`, standard: exactly-once state transitions and
 * execution names that make starting a saga idempotent) and the recovery sweep: an EventBridge schedule
 * that invokes the saga function every `sagas.sweepIntervalSeconds` in every region, so sagas a lost
 * region was coordinating are resumed by their new home. Starting executions is granted to the API and
 * the saga function by their rows of the access table (`executions`, from the machine's name, which
 * avoids a dependency cycle).
 */
export class Sagas extends Construct {
  public readonly machine: sfn.StateMachine;
  public readonly sweep: events.Rule;

  constructor(scope: Construct, id: string, props: SagasProps) {
    super(scope, id);
    const name = sagaStateMachineName(props.topology.name);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${name}`,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.machine = new sfn.StateMachine(this, SAGA_MACHINE, {
      stateMachineName: name,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        sagaDefinition(new Construct(this, 'States'), props.fn),
      ),
      timeout: SAGA_EXECUTION_TIMEOUT,
      tracingEnabled: true,
      logs: {
        destination: logGroup,
        level: sfn.LogLevel.ALL,
        includeExecutionData: props.topology.monitoring.logExecutionData,
      },
    });
    acknowledge(
      this.machine,
      'AwsSolutions-IAM5[Resource::*]',
      `${XRAY_WILDCARD_REASON} Log delivery to CloudWatch Logs (logs:CreateLogDelivery and friends) is likewise account-wide.`,
    );
    acknowledge(
      this.machine,
      `AwsSolutions-IAM5[Resource::${nagArnToken(props.fn)}:*]`,
      'Invoking the saga function by any version or alias of it (CDK grants fn and fn:*); it is the only function.',
    );
    this.sweep = new events.Rule(this, 'SweepSchedule', {
      description: 'Recovery sweep of sagas left in doubt (resume or compensate)',
      schedule: events.Schedule.rate(Duration.seconds(props.topology.sagas.sweepIntervalSeconds)),
      // A missed sweep is redone by the next one: no retries, no dead letters.
      targets: [
        new targets.LambdaFunction(props.fn, {
          event: events.RuleTargetInput.fromObject(SWEEP_INPUT),
          retryAttempts: 0,
        }),
      ],
    });
    acknowledge(
      this.sweep,
      'Serverless-EventBusDLQ',
      'The sweep runs every minute: a failed tick is redone by the next, and its error alarm fires.',
    );
  }
}
