/**
 * Deterministic physical names and ARNs. Stacks in different regions cannot reference each other's
 * constructs (CDK refuses cross-environment references, and `crossRegionReferences` adds a custom
 * resource we do not want), so every resource another region or the sandbox must find is named
 * from the environment and region alone, and its ARN is built from that name.
 */

import { internalKeySecretName } from '../lib/auth/index.ts';
import type { Topology } from '../lib/config/index.ts';

/** Route 53 health-check metrics exist only in us-east-1, so the global pieces live there. */
export const GLOBAL_REGION = 'us-east-1';

/** EventBridge `source` of replication events (publisher -> bus -> peers -> applier). */
export const REPLICATION_SOURCE = 'multiactive.replication';

/** CloudWatch namespace of the metrics the handlers emit through Powertools (EMF). */
export const METRICS_NAMESPACE = 'multiactive';

/** The five runbooks, in the order they are documented; also the suffix of each state machine name. */
export const RUNBOOK_NAMES = ['Switchover', 'Failover', 'Failback', 'Repair', 'ResolveConflict'] as const;
export type RunbookName = (typeof RUNBOOK_NAMES)[number];

/** CloudFormation stack name (and cloud-assembly artifact id) of a region's cell. */
export function regionalStackName(env: string, region: string): string {
  return `multiactive-${env}-${region}`;
}

/**
 * CloudFormation stack name of a region's foundation: the replication bus and its resource policy, which
 * every other stack's rules target. Deployed before any cell, so no rule ever names a bus that is missing.
 */
export function foundationStackName(env: string, region: string): string {
  return `multiactive-${env}-${region}-foundation`;
}

/** CloudFormation stack name of the global pieces (GTM records, health checks and their alarms, the global dashboard). */
export function globalStackName(env: string): string {
  return `multiactive-${env}-global`;
}

/** Name of the replication bus; the same in every region. */
export function busName(env: string): string {
  return `multiactive-${env}-bus`;
}

export function busArn(topology: Topology, region: string): string {
  return `arn:aws:events:${region}:${topology.account}:event-bus/${busName(topology.name)}`;
}

/** Name of the rule on `from`'s bus that forwards `from`-origin events to `to`'s bus. */
export function forwardRuleName(env: string, to: string): string {
  return `multiactive-${env}-to-${to}`;
}

/** Rules on a custom bus have the bus name in their ARN: `rule/<bus>/<rule>`. */
export function forwardRuleArn(topology: Topology, from: string, to: string): string {
  const { account, name } = topology;
  return `arn:aws:events:${from}:${account}:rule/${busName(name)}/${forwardRuleName(name, to)}`;
}

/** Name of the rule on a region's bus that delivers events of other origins to the applier. */
export function applyRuleName(env: string): string {
  return `multiactive-${env}-apply`;
}

/** Name of the rule on a region's bus that sends ordinary-tier events of other origins to the batched lane. */
export function ordinaryLaneRuleName(env: string): string {
  return `multiactive-${env}-ordinary-lane`;
}

/** Name of the CloudWatch alarm (us-east-1) on the Route 53 health check of `region`. */
export function healthAlarmName(env: string, region: string): string {
  return `multiactive-${env}-health-${region}`;
}

export function healthAlarmArn(topology: Topology, region: string): string {
  return `arn:aws:cloudwatch:${GLOBAL_REGION}:${topology.account}:alarm:${healthAlarmName(topology.name, region)}`;
}

/** The machine that runs every saga of the application (transfers), deployed in every region. */
export const SAGA_MACHINE = 'Saga';

/** A cell's state machines: the runbooks and the Saga machine. */
export type MachineName = RunbookName | typeof SAGA_MACHINE;

/** State machine names are the same in every region: `multiactive-<env>-<Runbook>`. */
export function stateMachineName(env: string, machine: MachineName): string {
  return `multiactive-${env}-${machine}`;
}

export function stateMachineArn(topology: Topology, region: string, machine: MachineName): string {
  return `arn:aws:states:${region}:${topology.account}:stateMachine:${stateMachineName(topology.name, machine)}`;
}

export function sagaStateMachineName(env: string): string {
  return stateMachineName(env, SAGA_MACHINE);
}

/** Built from the name: the functions that start executions need it before the machine exists. */
export function sagaStateMachineArn(topology: Topology, region: string): string {
  return stateMachineArn(topology, region, SAGA_MACHINE);
}

/**
 * Per-region API host name. Each cell serves its API on `<region>.<gtm.hostedZoneName>` (besides the
 * shared GTM name), so peers, health checks and clients can address one region directly without
 * knowing its API Gateway id, which only exists after deployment.
 */
export function regionHostName(topology: Topology, region: string): string {
  return `${region}.${topology.gtm.hostedZoneName}`;
}

/** `REGION_ENDPOINTS`: region -> https base URL of that region's API, for every configured region. */
export function regionEndpoints(topology: Topology): Record<string, string> {
  return Object.fromEntries(
    topology.regions.map((r) => [r.name, `https://${regionHostName(topology, r.name)}`]),
  );
}

/** Tables have the same name in every region (`lib/store/tables.ts`), so a peer's table ARN is known. */
export function tableArn(topology: Topology, region: string, table: string): string {
  return `arn:aws:dynamodb:${region}:${topology.account}:table/${table}`;
}

/**
 * Name of the AWS Backup vault of a cell's tables; the same in every region, so a plan copies its
 * recovery points to a peer's vault by ARN.
 */
export function backupVaultName(env: string): string {
  return `multiactive-${env}-tables`;
}

export function backupVaultArn(topology: Topology, region: string): string {
  return `arn:aws:backup:${region}:${topology.account}:backup-vault:${backupVaultName(topology.name)}`;
}

/** IAM names at most 64 characters; role ARNs are pinned in bus policies, so names are deterministic. */
const MAX_ROLE_NAME = 64;

/**
 * Name of a role the platform creates: `multiactive-<env>-<scope>-<purpose>`, where scope is a region
 * or `global`. Roles are account-wide, so the name carries both; bus policies name roles by ARN
 * (`aws:PrincipalArn`), which only works when the name is known before the role exists.
 */
export function roleName(env: string, scope: string, purpose: string): string {
  const name = `multiactive-${env}-${scope}-${purpose}`;
  if (name.length > MAX_ROLE_NAME)
    throw new Error(
      `IAM role name ${name} is ${name.length} characters (at most ${MAX_ROLE_NAME}): use a shorter environment name`,
    );
  return name;
}

export function roleArn(topology: Topology, name: string): string {
  return `arn:aws:iam::${topology.account}:role/${name}`;
}

/** The execution role of a cell's function (`api`, `publisher`, ...). */
export function functionRoleName(env: string, region: string, fn: string): string {
  return roleName(env, region, fn);
}

/** The role the forwarding rule on `from`'s bus assumes to put events on `to`'s bus. */
export function forwardRoleName(env: string, from: string, to: string): string {
  return roleName(env, from, `to-${to}`);
}

/** Name of a dead-letter queue: the same in every region, so dashboards in another region can name it. */
export function queueName(env: string, purpose: string): string {
  return `multiactive-${env}-${purpose}`;
}

/**
 * Every version of `region`'s replica of the internal key: Secrets Manager appends six random characters
 * to a secret's name in its ARN, the same in every replica region, and IAM grants match them with `??????`.
 */
export function internalKeyArnPattern(topology: Topology, region: string): string {
  return `arn:aws:secretsmanager:${region}:${topology.account}:secret:${internalKeySecretName(topology.name)}-??????`;
}
