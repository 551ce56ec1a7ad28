import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionRoleName } from '../naming.ts';
import {
  COMMON_ENVIRONMENT,
  FUNCTION_DEFAULTS,
  FUNCTION_SETTINGS,
  type FunctionName,
  LOG_RETENTION,
  NO_DLQ_REASON,
  PROJECT_ROOT,
  RUNTIME_REASON,
  serviceName,
} from './function-defaults.ts';
import { acknowledge, XRAY_WILDCARD_REASON } from './nag.ts';

export interface HandlerFunctionProps {
  readonly env: string;
  readonly region: string;
  readonly name: FunctionName;
  /** Environment shared by every function of the cell (identity, tables, bus, endpoints). */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * One handler of `functions/<name>/handler.ts`, bundled as ESM, with its own log group and its own
 * execution role. The role is named (`multiactive-<env>-<region>-<name>`) so bus policies can admit it by
 * ARN, and starts empty: no managed policy, only what `grants.ts` and CDK's wiring add, plus writing to
 * this function's log group (instead of AWSLambdaBasicExecutionRole, which allows every log group).
 */
export class HandlerFunction extends Construct {
  public readonly fn: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    const functionName = `multiactive-${props.env}-${props.name}`;
    // An explicit log group (instead of the deprecated logRetention custom resource) so retention
    // is a plain CloudFormation property and the group is removed with the stack.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      roleName: functionRoleName(props.env, props.region, props.name),
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${functionName}`,
    });
    this.logGroup.grantWrite(this.role);
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      ...FUNCTION_DEFAULTS,
      ...FUNCTION_SETTINGS[props.name],
      functionName,
      entry: `${PROJECT_ROOT}functions/${props.name}/handler.ts`,
      handler: 'handler',
      logGroup: this.logGroup,
      role: this.role,
      environment: {
        ...COMMON_ENVIRONMENT,
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: serviceName(props.name),
      },
    });
    this.acknowledgeFindings(props.name);
  }

  private acknowledgeFindings(name: FunctionName): void {
    acknowledge(this.fn, 'AwsSolutions-L1', RUNTIME_REASON);
    acknowledge(this.fn, 'Serverless-LambdaLatestVersion', RUNTIME_REASON);
    acknowledge(this.fn, 'Serverless-LambdaDLQ', NO_DLQ_REASON[name]);
    // On the construct: the X-Ray statement lands in the role's policy or, with cdk.json's
    // createNewPoliciesWithAddToRolePolicy, in a policy the function adds; both are below it.
    acknowledge(this, 'AwsSolutions-IAM5[Resource::*]', XRAY_WILDCARD_REASON);
  }
}
