import { TemplateTranslationError } from '../errors.ts';
import type { CfnTemplate } from './templates.ts';

/** Where a template is deployed: what `AWS::Region` and `AWS::AccountId` resolve to. */
export interface StackEnvironment {
  readonly region: string;
  readonly account: string;
}

type Intrinsic = { 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string]; Ref?: string };

/** The name CloudFormation would give a resource, from its name property or its logical id. */
function physicalName(template: CfnTemplate, logicalId: string): { type: string; name: string } {
  const resource = template.Resources[logicalId];
  if (!resource) throw new TemplateTranslationError(`no resource ${logicalId} in the template`);
  const p = resource.Properties ?? {};
  const named =
    p.FunctionName ??
    p.StateMachineName ??
    p.Name ??
    p.QueueName ??
    p.TopicName ??
    p.TableName ??
    p.AlarmName;
  return { type: resource.Type, name: typeof named === 'string' ? named : logicalId };
}

/** The ARN of a resource of the template, built the way AWS names it. */
function arnOf(template: CfnTemplate, logicalId: string, env: StackEnvironment): string {
  const { type, name } = physicalName(template, logicalId);
  const { region, account } = env;
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${account}:function:${name}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${region}:${account}:event-bus/${name}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${region}:${account}:${name}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${region}:${account}:${name}`;
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
    case 'AWS::CloudWatch::Alarm':
      return `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${account}:role/${name}`;
    default:
      return `arn:aws:cloudformation:${region}:${account}:resource/${logicalId}`;
  }
}

/** `Ref` as CloudFormation answers it: the name for buses, the ARN for state machines and topics. */
function refOf(template: CfnTemplate, logicalId: string, env: StackEnvironment): string {
  const pseudo: Record<string, string> = {
    'AWS::Region': env.region,
    'AWS::AccountId': env.account,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'sandbox',
  };
  if (pseudo[logicalId] !== undefined) return pseudo[logicalId];
  const { type, name } = physicalName(template, logicalId);
  if (type === 'AWS::StepFunctions::StateMachine' || type === 'AWS::SNS::Topic' || type === 'AWS::SQS::Queue')
    return arnOf(template, logicalId, env);
  return name;
}

/**
 * Resolves the intrinsics CDK emits in the parts the sandbox reads (`Fn::Join`, `Fn::GetAtt ... Arn`,
 * `Ref`) into plain strings; other values pass through (objects and arrays recursively).
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, env: StackEnvironment): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, template, env));
  if (typeof value !== 'object' || value === null) return value;
  const fn = value as Intrinsic;
  if (fn['Fn::Join']) {
    const [separator, parts] = fn['Fn::Join'];
    return parts.map((p) => String(resolveIntrinsics(p, template, env))).join(separator);
  }
  if (fn['Fn::GetAtt']) {
    const [logicalId, attribute] = fn['Fn::GetAtt'];
    if (attribute === 'Arn') return arnOf(template, logicalId, env);
    if (['Name', 'QueueName', 'TopicName'].includes(attribute)) return physicalName(template, logicalId).name;
    if (attribute === 'StreamArn') return `${arnOf(template, logicalId, env)}/stream/sandbox`;
    throw new TemplateTranslationError(`unsupported Fn::GetAtt ${logicalId}.${attribute}`);
  }
  if (typeof fn.Ref === 'string') return refOf(template, fn.Ref, env);
  const keys = Object.keys(value);
  if (keys.some((k) => k.startsWith('Fn::')))
    throw new TemplateTranslationError(`unsupported intrinsic ${keys.join(', ')}`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v, template, env)]));
}

/** Resources of one type, with their properties resolved. */
export function resourcesOfType(
  template: CfnTemplate,
  type: string,
  env: StackEnvironment,
): Array<{ logicalId: string; properties: Record<string, unknown> }> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([logicalId, r]) => ({
      logicalId,
      properties: resolveIntrinsics(r.Properties ?? {}, template, env) as Record<string, unknown>,
    }));
}

/** Parses an ARN into its service, region and resource part. */
export function parseArn(arn: string): {
  service: string;
  region: string;
  account: string;
  resource: string;
} {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') throw new TemplateTranslationError(`not an ARN: ${arn}`);
  return {
    service: parts[2] as string,
    region: parts[3] as string,
    account: parts[4] as string,
    resource: parts.slice(5).join(':'),
  };
}
