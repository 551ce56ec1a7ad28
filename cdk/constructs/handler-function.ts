import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionRoleName } from '../naming.ts';
import {
  APPLICATION_ALIAS,
  BUNDLING,
  COMMON_ENVIRONMENT,
  FUNCTION_DEFAULTS,
  FUNCTION_SETTINGS,
  type HandlerName,
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
  readonly name: HandlerName;
  /** Environment shared by every function of the cell (identity, tables, bus, endpoints). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The application config module (`export default defineApp(...)`): bundled into the function and
   * provided to the handler before it runs (functions/shared/provide-application.ts). Required when the
   * stack is bundled; templates synthesized without bundling (tests, the sandbox) need none.
   */
  readonly applicationModule?: string;
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
      bundling: applicationBundling(this, props.applicationModule),
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

  private acknowledgeFindings(name: HandlerName): void {
    acknowledge(this.fn, 'AwsSolutions-L1', RUNTIME_REASON);
    acknowledge(this.fn, 'Serverless-LambdaLatestVersion', RUNTIME_REASON);
    acknowledge(this.fn, 'Serverless-LambdaDLQ', NO_DLQ_REASON[name]);
    // On the construct: the X-Ray statement lands in the role's policy or, with cdk.json's
    // createNewPoliciesWithAddToRolePolicy, in a policy the function adds; both are below it.
    acknowledge(this, 'AwsSolutions-IAM5[Resource::*]', XRAY_WILDCARD_REASON);
  }
}

/**
 * The bundling of every handler: the platform's settings plus the application, injected first and
 * resolved by an esbuild alias to the config module (so a team's aggregates are bundled from its code).
 */
function applicationBundling(
  scope: Construct,
  applicationModule: string | undefined,
): nodejs.BundlingOptions {
  if (!applicationModule) {
    if (Stack.of(scope).bundlingRequired)
      throw new Error(
        `${scope.node.path}: bundling a handler needs the application config module (applicationModule)`,
      );
    return BUNDLING;
  }
  return {
    ...BUNDLING,
    inject: [`${PROJECT_ROOT}functions/shared/provide-application.ts`],
    esbuildArgs: { [`--alias:${APPLICATION_ALIAS}`]: applicationModule },
  };
}
