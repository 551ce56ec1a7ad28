import { regionNames, type Topology } from '../../lib/config/index.ts';
import { GLOBAL_REGION, queueName, regionalStackName, stateMachineArn, stateMachineName } from '../naming.ts';
import type { ServiceAccess } from './access-table.ts';

/** Every region of the topology and the global region (Route 53's alarms live there). */
const everyRegion = (topology: Topology) => [...new Set([GLOBAL_REGION, ...regionNames(topology)])];

/**
 * The reads of the scheduled readiness function beyond the control tables (lib/ops/aws-readiness.ts),
 * one row per AWS API it calls, each on the names of this environment only. Route 53's ListHealthChecks,
 * CloudWatch's GetMetricData and SQS's ListQueues have no resource type: `*` is the only resource.
 */
export const READINESS_SERVICES: readonly ServiceAccess[] = [
  {
    actions: ['cloudformation:DescribeStacks'],
    resources: (t) =>
      regionNames(t).map(
        (r) => `arn:aws:cloudformation:${r}:${t.account}:stack/${regionalStackName(t.name, r)}/*`,
      ),
    why: "the version every cell runs (its stack's multiactive:version tag)",
    wildcard: 'a stack ARN ends in the stack id CloudFormation assigns at creation; the stack name is fixed',
  },
  {
    actions: ['route53:ListHealthChecks'],
    resources: () => ['*'],
    why: "finds each region's health check by the host it probes (its id exists only after deployment)",
  },
  {
    actions: ['route53:GetHealthCheckStatus'],
    resources: () => ['arn:aws:route53:::healthcheck/*'],
    why: "each region's health as Route 53's checkers see it now",
    wildcard:
      "health check ids are assigned by Route 53 at creation; the function finds its environment's by host",
  },
  {
    actions: ['cloudwatch:GetMetricData'],
    resources: () => ['*'],
    why: 'ReplicationLagMs of every link, read in the applying region',
  },
  {
    actions: ['cloudwatch:DescribeAlarms'],
    resources: (t) =>
      everyRegion(t).map((r) => `arn:aws:cloudwatch:${r}:${t.account}:alarm:multiactive-${t.name}-*`),
    why: "the environment's alarms in every region and the global one (none may be in ALARM)",
    wildcard: 'every alarm of this environment, and only those: its name prefix multiactive-<env>-',
  },
  {
    actions: ['sqs:ListQueues'],
    resources: () => ['*'],
    why: "lists every region's dead-letter queues by the environment's name prefix",
  },
  {
    actions: ['sqs:GetQueueAttributes'],
    resources: (t) => regionNames(t).map((r) => `arn:aws:sqs:${r}:${t.account}:${queueName(t.name, '*')}`),
    why: 'how many messages wait in each dead-letter queue (all must be empty)',
    wildcard: 'every queue of this environment, and only those: its name prefix multiactive-<env>-',
  },
  {
    actions: ['states:ListExecutions'],
    resources: (t) => regionNames(t).map((r) => stateMachineArn(t, r, 'Repair')),
    why: "each region's latest Repair executions",
  },
  {
    actions: ['states:DescribeExecution'],
    resources: (t) =>
      regionNames(t).map(
        (r) => `arn:aws:states:${r}:${t.account}:execution:${stateMachineName(t.name, 'Repair')}:*`,
      ),
    why: 'the outcome of the newest Repair (its failed partitions)',
    wildcard: 'executions of the Repair state machine only; their names are chosen at each start',
  },
];
