import { resourcesOfType } from '../cdk/intrinsics.ts';
import type { DeployedTemplate } from '../cdk/stacks.ts';
import { TemplateTranslationError } from '../errors.ts';

/** An IAM policy document as the templates hold it, intrinsics resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** A role and every identity policy attached to it (inline and AWS::IAM::Policy). */
export interface RoleModel {
  readonly arn: string;
  readonly name: string;
  readonly policies: ReadonlyArray<{ readonly name: string; readonly document: PolicyDocument }>;
}

/**
 * Everything IAM needs to decide a call in the sandbox, read from the synthesized templates of every
 * stack with intrinsics resolved to the ARNs each region and account would have: the roles and their
 * policies, which role each function and state machine runs as, the buses' resource policies and the
 * functions' resource policies (from AWS::Lambda::Permission) and the queues' (dead letters).
 */
export interface IamModel {
  readonly account: string;
  readonly roles: ReadonlyMap<string, RoleModel>;
  /** Function ARN -> execution role ARN. */
  readonly functionRoles: ReadonlyMap<string, string>;
  /** State machine ARN -> role ARN. */
  readonly stateMachineRoles: ReadonlyMap<string, string>;
  /** Resource ARN -> resource policy (event buses, functions, queues). */
  readonly resourcePolicies: ReadonlyMap<string, PolicyDocument>;
}

export type { DeployedTemplate } from '../cdk/stacks.ts';

const roleArnOf = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;

function asDocument(value: unknown, where: string): PolicyDocument {
  const doc = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const statement = (doc as { Statement?: unknown } | undefined)?.Statement;
  if (!Array.isArray(statement)) throw new TemplateTranslationError(`${where}: not a policy document`);
  return doc as PolicyDocument;
}

/** Roles by ARN with their inline policies; a managed policy is refused (its text is not in the template). */
function rolesOf(deployed: DeployedTemplate, roles: Map<string, RoleModel>): void {
  const { template, env } = deployed;
  for (const { logicalId, properties: p } of resourcesOfType(template, 'AWS::IAM::Role', env)) {
    const managed = (p.ManagedPolicyArns as unknown[] | undefined) ?? [];
    if (managed.length > 0)
      throw new TemplateTranslationError(
        `role ${logicalId} attaches managed policies (${managed.join(', ')}): the sandbox cannot evaluate them; grant explicitly`,
      );
    const name =
      typeof p.RoleName === 'string'
        ? p.RoleName
        : env.stackName
          ? `${env.stackName}-${logicalId}`
          : logicalId;
    const inline = (
      (p.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined) ?? []
    ).map((q) => ({
      name: q.PolicyName,
      document: asDocument(q.PolicyDocument, `${logicalId}/${q.PolicyName}`),
    }));
    roles.set(roleArnOf(env.account, name), { arn: roleArnOf(env.account, name), name, policies: inline });
  }
}

/** AWS::IAM::Policy resources, attached to the roles they name (by Ref, i.e. by role name). */
function attachPolicies(deployed: DeployedTemplate, roles: Map<string, RoleModel>): void {
  const { template, env } = deployed;
  for (const { logicalId, properties: p } of resourcesOfType(template, 'AWS::IAM::Policy', env)) {
    const document = asDocument(p.PolicyDocument, logicalId);
    for (const name of (p.Roles as string[] | undefined) ?? []) {
      const role = roles.get(roleArnOf(env.account, name));
      if (!role) throw new TemplateTranslationError(`policy ${logicalId} names an unknown role ${name}`);
      roles.set(role.arn, { ...role, policies: [...role.policies, { name: logicalId, document }] });
    }
  }
}

function addStatement(
  policies: Map<string, PolicyDocument>,
  arn: string,
  statement: Record<string, unknown>,
) {
  const existing = policies.get(arn);
  policies.set(arn, { Version: '2012-10-17', Statement: [...(existing?.Statement ?? []), statement] });
}

/** AWS::Lambda::Permission as the statement Lambda adds to the function's resource policy. */
function lambdaPermissionsOf(deployed: DeployedTemplate, policies: Map<string, PolicyDocument>): void {
  const { template, env } = deployed;
  for (const { properties: p } of resourcesOfType(template, 'AWS::Lambda::Permission', env)) {
    const principal = String(p.Principal);
    const conditions: Record<string, Record<string, string>> = {};
    if (typeof p.SourceArn === 'string') conditions.ArnLike = { 'AWS:SourceArn': p.SourceArn };
    if (typeof p.SourceAccount === 'string')
      conditions.StringEquals = { 'AWS:SourceAccount': p.SourceAccount };
    addStatement(policies, String(p.FunctionName), {
      Effect: 'Allow',
      Principal: principal.includes('.amazonaws.com') ? { Service: principal } : { AWS: principal },
      Action: String(p.Action),
      Resource: String(p.FunctionName),
      ...(Object.keys(conditions).length > 0 ? { Condition: conditions } : {}),
    });
  }
}

/** Which role each function and state machine of a stack runs as. */
function executionRolesOf(
  deployed: DeployedTemplate,
  functionRoles: Map<string, string>,
  stateMachineRoles: Map<string, string>,
): void {
  const { template, env } = deployed;
  for (const { properties: p } of resourcesOfType(template, 'AWS::Lambda::Function', env)) {
    functionRoles.set(
      `arn:aws:lambda:${env.region}:${env.account}:function:${String(p.FunctionName)}`,
      String(p.Role),
    );
  }
  for (const { logicalId, properties: p } of resourcesOfType(
    template,
    'AWS::StepFunctions::StateMachine',
    env,
  )) {
    const name = typeof p.StateMachineName === 'string' ? p.StateMachineName : logicalId;
    stateMachineRoles.set(
      `arn:aws:states:${env.region}:${env.account}:stateMachine:${name}`,
      String(p.RoleArn),
    );
  }
}

/** The resource policies of a stack: buses, queues (dead letters) and functions. */
function resourcePoliciesOf(deployed: DeployedTemplate, policies: Map<string, PolicyDocument>): void {
  const { template, env } = deployed;
  for (const { properties: p } of resourcesOfType(template, 'AWS::Events::EventBus', env)) {
    if (p.Policy === undefined) continue;
    const arn = `arn:aws:events:${env.region}:${env.account}:event-bus/${String(p.Name)}`;
    policies.set(arn, asDocument(p.Policy, arn));
  }
  for (const { properties: p } of resourcesOfType(template, 'AWS::SQS::QueuePolicy', env)) {
    // `Queues` holds Refs, which the sandbox resolves to the queues' ARNs.
    for (const queue of (p.Queues as string[] | undefined) ?? [])
      policies.set(queue, asDocument(p.PolicyDocument, queue));
  }
  lambdaPermissionsOf(deployed, policies);
}

/** Builds the model from every stack of an environment. */
export function iamModelOf(deployed: readonly DeployedTemplate[]): IamModel {
  const account = deployed[0]?.env.account ?? '000000000000';
  const roles = new Map<string, RoleModel>();
  for (const stack of deployed) rolesOf(stack, roles);
  for (const stack of deployed) attachPolicies(stack, roles);
  const functionRoles = new Map<string, string>();
  const stateMachineRoles = new Map<string, string>();
  const resourcePolicies = new Map<string, PolicyDocument>();
  for (const stack of deployed) {
    executionRolesOf(stack, functionRoles, stateMachineRoles);
    resourcePoliciesOf(stack, resourcePolicies);
  }
  return { account, roles, functionRoles, stateMachineRoles, resourcePolicies };
}
