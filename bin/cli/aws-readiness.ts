import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LAG_METRIC_SERVICE } from '../../cdk/constructs/function-defaults.ts';
import { GLOBAL_REGION, METRICS_NAMESPACE, regionalStackName, regionHostName } from '../../cdk/naming.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { awsTimers } from '../../lib/ops/objectives.ts';
import { readMapView } from '../../lib/ops/partition-view.ts';
import type { ExecutionPort } from '../../lib/ops/ports.ts';
import type { ReadinessSnapshot } from '../../lib/ops/readiness.ts';
import { DynamoControlReplica } from '../../lib/ownership/index.ts';
import { tableNames } from '../../lib/store/index.ts';

/** The AWS clients readiness and status read through, one per region (injected by tests). */
export interface AwsReadClients {
  readonly route53: Route53Client;
  readonly cloudwatch: (region: string) => CloudWatchClient;
  readonly cloudformation: (region: string) => CloudFormationClient;
  readonly sqs: (region: string) => SQSClient;
  readonly dynamo: (region: string) => DynamoDBDocumentClient;
  readonly executions: ExecutionPort;
}

/** Clients with the operator's credentials (the default chain), created once per region. */
export function awsReadClients(executions: ExecutionPort): AwsReadClients {
  const per = <T>(make: (region: string) => T) => {
    const made = new Map<string, T>();
    return (region: string) => made.get(region) ?? (made.set(region, make(region)).get(region) as T);
  };
  return {
    route53: new Route53Client({ region: GLOBAL_REGION }),
    cloudwatch: per((region) => new CloudWatchClient({ region })),
    cloudformation: per((region) => new CloudFormationClient({ region })),
    sqs: per((region) => new SQSClient({ region })),
    dynamo: per((region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region }))),
    executions,
  };
}

const settled = async <T>(work: Promise<T>): Promise<T | undefined> => work.catch(() => undefined);

/** The deployed version of each region's cell: its stack's `multiactive:version` tag, else its last update. */
async function versions(topology: Topology, c: AwsReadClients): Promise<Record<string, string | undefined>> {
  const regions = regionNames(topology);
  const found = await Promise.all(
    regions.map((region) =>
      settled(
        c
          .cloudformation(region)
          .send(new DescribeStacksCommand({ StackName: regionalStackName(topology.name, region) }))
          .then(({ Stacks }) => {
            const stack = Stacks?.[0];
            const tag = stack?.Tags?.find((t) => t.Key === 'multiactive:version')?.Value;
            return tag ?? stack?.Outputs?.find((o) => o.OutputKey === 'Version')?.OutputValue;
          }),
      ),
    ),
  );
  return Object.fromEntries(regions.map((r, i) => [r, found[i]]));
}

/** Route 53's health checks of each region (found by their target host), healthy when most checkers say so. */
async function health(topology: Topology, c: AwsReadClients): Promise<Record<string, boolean | undefined>> {
  const { HealthChecks = [] } = await c.route53.send(new ListHealthChecksCommand({}));
  const out: Record<string, boolean | undefined> = {};
  for (const region of regionNames(topology)) {
    const check = HealthChecks.find(
      (h) => h.HealthCheckConfig?.FullyQualifiedDomainName === regionHostName(topology, region),
    );
    if (!check?.Id) {
      out[region] = undefined;
      continue;
    }
    const status = await c.route53.send(new GetHealthCheckStatusCommand({ HealthCheckId: check.Id }));
    const observations = status.HealthCheckObservations ?? [];
    const ok = observations.filter((o) => o.StatusReport?.Status?.startsWith('Success')).length;
    out[region] = observations.length > 0 ? ok * 2 > observations.length : undefined;
  }
  return out;
}

/** Newest ReplicationLagMs (Maximum, last 5 minutes) per link, read in the applying region. */
async function lag(topology: Topology, c: AwsReadClients, now: Date): Promise<ReadinessSnapshot['lag']> {
  const regions = regionNames(topology);
  const links = regions.flatMap((from) => regions.filter((to) => to !== from).map((to) => ({ from, to })));
  return Promise.all(
    links.map(async ({ from, to }) => {
      const data = await settled(
        c.cloudwatch(to).send(
          new GetMetricDataCommand({
            StartTime: new Date(now.getTime() - 5 * 60_000),
            EndTime: now,
            ScanBy: 'TimestampDescending',
            MetricDataQueries: [
              {
                Id: 'lag',
                MetricStat: {
                  Metric: {
                    Namespace: METRICS_NAMESPACE,
                    MetricName: 'ReplicationLagMs',
                    Dimensions: [
                      { Name: 'service', Value: LAG_METRIC_SERVICE },
                      { Name: 'From', Value: from },
                      { Name: 'To', Value: to },
                    ],
                  },
                  Period: 60,
                  Stat: 'Maximum',
                },
              },
            ],
          }),
        ),
      );
      return { from, to, lagMs: data?.MetricDataResults?.[0]?.Values?.[0] };
    }),
  );
}

/** Messages waiting in the cells' dead-letter queues (CloudFormation names them after the stack). */
async function deadLetters(topology: Topology, c: AwsReadClients): Promise<ReadinessSnapshot['deadLetters']> {
  const out: Array<{ region: string; queue: string; depth: number }> = [];
  for (const region of regionNames(topology)) {
    const listed = await settled(
      c
        .sqs(region)
        .send(new ListQueuesCommand({ QueueNamePrefix: regionalStackName(topology.name, region) })),
    );
    for (const url of (listed?.QueueUrls ?? []).filter((u) => /dlq|dead/i.test(u))) {
      const attrs = await c
        .sqs(region)
        .send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
      out.push({
        region,
        queue: url.split('/').pop() ?? url,
        depth: Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0),
      });
    }
  }
  return out;
}

/** Every alarm of the environment (prefix `multiactive-<env>-`) in every region and in us-east-1. */
async function alarms(topology: Topology, c: AwsReadClients): Promise<ReadinessSnapshot['alarms']> {
  const regions = [...new Set([GLOBAL_REGION, ...regionNames(topology)])];
  const lists = await Promise.all(
    regions.map((region) =>
      c
        .cloudwatch(region)
        .send(
          new DescribeAlarmsCommand({ AlarmNamePrefix: `multiactive-${topology.name}-`, MaxRecords: 100 }),
        ),
    ),
  );
  return lists.flatMap((l) =>
    (l.MetricAlarms ?? []).map((a) => ({ name: a.AlarmName ?? '?', state: a.StateValue ?? '?' })),
  );
}

async function lastRepair(topology: Topology, c: AwsReadClients): Promise<ReadinessSnapshot['lastRepair']> {
  const lists = await Promise.all(
    regionNames(topology).map((r) => settled(c.executions.list?.('Repair', r, 5) ?? Promise.resolve([]))),
  );
  const newest = lists
    .flatMap((l) => l ?? [])
    .filter((e) => e.status !== 'RUNNING')
    .sort((a, b) => b.startDate - a.startDate)[0];
  if (!newest) return undefined;
  const described = await c.executions.describe(newest.executionArn);
  const failed = (described.output as { report?: { partitionsFailed?: unknown[] } } | undefined)?.report
    ?.partitionsFailed;
  return {
    status: described.status,
    region: described.region,
    at: described.stopDate ?? described.startDate,
    partitionsFailed: failed?.length,
  };
}

/**
 * What readiness looks at in a deployed environment, read with the operator's credentials: stack versions,
 * Route 53 health checks, ReplicationLagMs, dead-letter queues, alarms, the control tables of every region
 * (the partition map compared across them) and the last Repair execution.
 */
export async function awsReadinessSnapshot(
  topology: Topology,
  c: AwsReadClients,
  now = new Date(),
): Promise<ReadinessSnapshot> {
  const control = tableNames(topology.name).control;
  const replicas = regionNames(topology).map(
    (region) => new DynamoControlReplica({ region, client: c.dynamo(region), tableName: control }),
  );
  const map = await readMapView(replicas, topology.partitions, replicas.length);
  return {
    topology,
    timers: awsTimers(topology),
    versions: await versions(topology, c),
    health: await health(topology, c),
    lag: await lag(topology, c, now),
    deadLetters: await deadLetters(topology, c),
    controlReachable: map.answered,
    alarms: await alarms(topology, c),
    map,
    lastRepair: await lastRepair(topology, c),
  };
}
