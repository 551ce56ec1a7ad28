import { TemplateTranslationError } from '../errors.ts';
import type { CfnTemplate } from './templates.ts';

/**
 * The label of every table stream: AWS labels streams with their creation time, DynamoDB Local with its
 * own; the sandbox names both `.../stream/sandbox`, so grants on `Fn::GetAtt Table.StreamArn` match.
 */
export const SANDBOX_STREAM_LABEL = 'sandbox';

/** Where a template is deployed: what `AWS::Region` and `AWS::AccountId` resolve to. */
export interface StackEnvironment {
  readonly region: string;
  readonly account: string;
  /**
   * The stack's name. CloudFormation names an unnamed role `<stack>-<logical id>-<suffix>`, so two
   * regional stacks' roles of the same logical id are different roles; given the stack name, the sandbox
   * names them `<stack>-<logical id>` (without the random suffix).
   */
  readonly stackName?: string;
}

type Intrinsic = {
  'Fn::Join'?: [string, unknown[]];
  'Fn::GetAtt'?: [string, string];
  'Fn::Sub'?: string | [string, Record<string, unknown>];
  Ref?: string;
};

/** The name CloudFormation would give a resource, from its name property or its logical id. */
function physicalName(
  template: CfnTemplate,
  logicalId: string,
  env?: StackEnvironment,
): { type: string; name: string } {
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
    p.AlarmName ??
    p.RoleName ??
    p.LogGroupName ??
    p.BackupVaultName;
  if (typeof named === 'string') return { type: resource.Type, name: named };
  const generated = resource.Type === 'AWS::IAM::Role' && env?.stackName;
  return { type: resource.Type, name: generated ? `${env.stackName}-${logicalId}` : logicalId };
}

/** The ARN of a resource of the template, built the way AWS names it. */
function arnOf(template: CfnTemplate, logicalId: string, env: StackEnvironment): string {
  const { type, name } = physicalName(template, logicalId, env);
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
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${region}:${account}:key/${name}`;
    case 'AWS::Backup::BackupVault':
      return `arn:aws:backup:${region}:${account}:backup-vault:${name}`;
    case 'AWS::Events::Rule': {
      // Rules on a custom bus carry the bus name in their ARN; rules on the default bus do not.
      const bus = template.Resources[logicalId]?.Properties?.EventBusName;
      const busName = bus === undefined ? 'default' : String(resolveIntrinsics(bus, template, env));
      const short = busName.slice(busName.lastIndexOf('/') + 1);
      return `arn:aws:events:${region}:${account}:rule/${short === 'default' ? '' : `${short}/`}${name}`;
    }
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
  const { type, name } = physicalName(template, logicalId, env);
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
    if (attribute === 'Arn' || attribute === 'BackupVaultArn') return arnOf(template, logicalId, env);
    if (attribute === 'BackupVaultName') return physicalName(template, logicalId, env).name;
    if (['Name', 'QueueName', 'TopicName'].includes(attribute))
      return physicalName(template, logicalId, env).name;
    if (attribute === 'StreamArn') return `${arnOf(template, logicalId, env)}/stream/${SANDBOX_STREAM_LABEL}`;
    throw new TemplateTranslationError(`unsupported Fn::GetAtt ${logicalId}.${attribute}`);
  }
  if (typeof fn.Ref === 'string') return refOf(template, fn.Ref, env);
  if (fn['Fn::Sub'] !== undefined) return substitute(fn['Fn::Sub'], template, env);
  const keys = Object.keys(value);
  if (keys.some((k) => k.startsWith('Fn::')))
    throw new TemplateTranslationError(`unsupported intrinsic ${keys.join(', ')}`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v, template, env)]));
}

/** `Fn::Sub`: `${Name}` is a variable, a pseudo parameter or a Ref; `${Name.Attr}` a GetAtt. */
function substitute(
  sub: string | [string, Record<string, unknown>],
  template: CfnTemplate,
  env: StackEnvironment,
): string {
  const [text, variables] = typeof sub === 'string' ? [sub, {}] : sub;
  return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
    if (name in variables) return String(resolveIntrinsics(variables[name], template, env));
    const dot = name.indexOf('.');
    const intrinsic = dot > 0 ? { 'Fn::GetAtt': [name.slice(0, dot), name.slice(dot + 1)] } : { Ref: name };
    return String(resolveIntrinsics(intrinsic, template, env));
  });
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

/** A function named by ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`) or by name, as its name. */
export function functionNameOf(arnOrName: string): string {
  const parts = arnOrName.split(':');
  const at = parts.indexOf('function');
  return at >= 0 ? (parts[at + 1] ?? arnOrName) : arnOrName;
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
