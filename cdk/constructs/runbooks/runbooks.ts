import { RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUNBOOK_NAMES, type RunbookName, stateMachineName } from '../../naming.ts';
import { LOG_RETENTION } from '../function-defaults.ts';
import { acknowledge, nagArnToken, XRAY_WILDCARD_REASON } from '../nag.ts';
import { failbackDefinition } from './failback.ts';
import { failoverDefinition } from './failover.ts';
import { repairDefinition } from './repair.ts';
import { resolveConflictDefinition } from './resolve-conflict.ts';
import { EXECUTION_TIMEOUT } from './runbook-defaults.ts';
import type { RunbookDefinition } from './runbook-definition.ts';
import { switchoverDefinition } from './switchover.ts';

const DEFINITIONS: Readonly<Record<RunbookName, RunbookDefinition>> = {
  Switchover: switchoverDefinition,
  Failover: failoverDefinition,
  Failback: failbackDefinition,
  Repair: repairDefinition,
  ResolveConflict: resolveConflictDefinition,
};

export interface RunbooksProps {
  readonly env: string;
  /** This region's runbook function; every region runs its own copy of every runbook. */
  readonly fn: lambda.IFunction;
  /** `monitoring.logExecutionData`: whether the logs carry each state's input and output. */
  readonly logExecutionData: boolean;
}

/**
 * The five runbooks as standard state machines named `multiactive-<env>-<Runbook>`, deployed in every
 * region so a runbook can run while any one region is gone. Each machine's construct id is the runbook
 * name (`Runbooks/<Runbook>`), which keeps logical ids stable for the sandbox to find in cdk.out.
 */
export class Runbooks extends Construct {
  public readonly byName: Readonly<Record<RunbookName, sfn.StateMachine>>;

  constructor(scope: Construct, id: string, props: RunbooksProps) {
    super(scope, id);
    const byName = {} as Record<RunbookName, sfn.StateMachine>;
    for (const runbook of RUNBOOK_NAMES) {
      const name = stateMachineName(props.env, runbook);
      const states = new Construct(this, `${runbook}States`);
      // The /aws/vendedlogs/ prefix keeps CloudWatch's log resource policy small as machines multiply.
      const logGroup = new logs.LogGroup(this, `${runbook}Logs`, {
        logGroupName: `/aws/vendedlogs/states/${name}`,
        retention: LOG_RETENTION,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      byName[runbook] = new sfn.StateMachine(this, runbook, {
        stateMachineName: name,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromChainable(DEFINITIONS[runbook](states, { fn: props.fn })),
        timeout: EXECUTION_TIMEOUT[runbook],
        tracingEnabled: true,
        logs: {
          destination: logGroup,
          level: sfn.LogLevel.ALL,
          includeExecutionData: props.logExecutionData,
        },
      });
      acknowledge(
        byName[runbook],
        'AwsSolutions-IAM5[Resource::*]',
        `${XRAY_WILDCARD_REASON} Log delivery to CloudWatch Logs (logs:CreateLogDelivery and friends) is likewise account-wide.`,
      );
      acknowledge(
        byName[runbook],
        `AwsSolutions-IAM5[Resource::${nagArnToken(props.fn)}:*]`,
        'Invoking the runbook function by any version or alias of it (CDK grants fn and fn:*); it is the only function.',
      );
    }
    this.byName = byName;
  }
}
