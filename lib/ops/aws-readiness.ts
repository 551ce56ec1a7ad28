import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { GetQueueAttributesCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { regionNames, type Topology } from '../config/index.ts';
import { DynamoControlReplica } from '../ownership/index.ts';
import { tableNames } from '../store/index.ts';
import { awsTimers } from './objectives.ts';
import { readMapView } from './partition-view.ts';
import type { ExecutionPort } from './ports.ts';
import type { ReadinessSnapshot } from './readiness.ts';
import { READINESS_METRIC } from './scheduled-readiness.ts';

/**
 * The deployed names readiness reads, as the CDK app computes them (`readinessNames`,
 * cdk/constructs/readiness.ts) and hands them to the scheduled function as JSON (lib/ never imports cdk/).
 * In a template, `{region}` and `{runbook}` stand for a region's and a runbook's name.
 */
export interface AwsReadinessNames {
  /** Where the Route 53 API and the health checks' alarms live. */
  readonly globalRegion: string;
  /** Each region's cell stack, e.g. `multiactive-prod-{region}` (its `multiactive:version` tag). */
  readonly stack: string;
  /** The host each region's Route 53 health check probes, e.g. `{region}.example.com`. */
  readonly healthCheckHost: string;
  /** A runbook's state machine, e.g. `arn:aws:states:{region}:1:stateMachine:multiactive-prod-{runbook}`. */
  readonly stateMachineArn: string;
  /** Every alarm of the environment starts with this, in every region and in the global region. */
  readonly alarmPrefix: string;
  /**
   * The alarm on readiness itself: left out of the alarms check, or a NOT READY would keep its own
   * alarm in ALARM and so stay NOT READY for ever.
   */
  readonly readinessAlarm: string;
  /** The environment's queues start with this; all are dead-letter queues but `workQueues`. */
  readonly queuePrefix: string;
  /** Queues that hold work in normal operation (the ordinary lane's), left out of the dead-letter check. */
  readonly workQueues?: readonly string[];
  /**
   * The handlers' metrics namespace, and the Powertools `service` dimension of the lag monitor (its
   * ReplicationLagMs) and of the readiness function (its Readiness).
   */
  readonly metrics: {
    readonly namespace: string;
    readonly lagService: string;
    readonly readinessService: string;
  };
}

/** A name template of AwsReadinessNames with its placeholders filled in. */
export function fillName(template: string, values: { region?: string; runbook?: string }): string {
  return template
    .replaceAll('{region}', values.region ?? '{region}')
    .replaceAll('{runbook}', values.runbook ?? '{runbook}');
}

/** The AWS clients readiness and status read through, one per region (injected by tests). */
export interface AwsReadClients {
  readonly route53: Route53Client;
  readonly cloudwatch: (region: string) => CloudWatchClient;
  readonly cloudformation: (region: string) => CloudFormationClient;
  readonly sqs: (region: string) => SQSClient;
  readonly dynamo: (region: string) => DynamoDBDocumentClient;
  readonly executions: ExecutionPort;
}

const settled = async <T>(work: Promise<T>): Promise<T | undefined> => work.catch(() => undefined);

interface Reading {
  readonly topology: Topology;
  readonly clients: AwsReadClients;
  readonly names: AwsReadinessNames;
  readonly now: Date;
}

/** The deployed version of each region's cell: its stack's `multiactive:version` tag, else its last update. */
async function versions({ topology, clients, names }: Reading): Promise<Record<string, string | undefined>> {
  const regions = regionNames(topology);
  const found = await Promise.all(
    regions.map((region) =>
      settled(
        clients
          .cloudformation(region)
          .send(new DescribeStacksCommand({ StackName: fillName(names.stack, { region }) }))
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
async function health({ topology, clients, names }: Reading): Promise<Record<string, boolean | undefined>> {
  const { HealthChecks = [] } = await clients.route53.send(new ListHealthChecksCommand({}));
  const out: Record<string, boolean | undefined> = {};
  for (const region of regionNames(topology)) {
    const host = fillName(names.healthCheckHost, { region });
    const check = HealthChecks.find((h) => h.HealthCheckConfig?.FullyQualifiedDomainName === host);
    if (!check?.Id) {
      out[region] = undefined;
      continue;
    }
    const status = await clients.route53.send(new GetHealthCheckStatusCommand({ HealthCheckId: check.Id }));
    const observations = status.HealthCheckObservations ?? [];
    const ok = observations.filter((o) => o.StatusReport?.Status?.startsWith('Success')).length;
    out[region] = observations.length > 0 ? ok * 2 > observations.length : undefined;
  }
  return out;
}

/** Newest ReplicationLagMs (Maximum, last 5 minutes) per link, read in the applying region. */
async function lag({ topology, clients, names, now }: Reading): Promise<ReadinessSnapshot['lag']> {
  const regions = regionNames(topology);
  const links = regions.flatMap((from) => regions.filter((to) => to !== from).map((to) => ({ from, to })));
  return Promise.all(
    links.map(async ({ from, to }) => {
      const data = await settled(
        clients.cloudwatch(to).send(
          new GetMetricDataCommand({
            StartTime: new Date(now.getTime() - 5 * 60_000),
            EndTime: now,
            ScanBy: 'TimestampDescending',
            MetricDataQueries: [
              {
                Id: 'lag',
                MetricStat: {
                  Metric: {
                    Namespace: names.metrics.namespace,
                    MetricName: 'ReplicationLagMs',
                    Dimensions: [
                      { Name: 'service', Value: names.metrics.lagService },
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

/**
 * Messages waiting in the dead-letter queues of every region, visible or in flight. Every queue the
 * platform creates is one (failed stream batches, failed asynchronous invocations being redriven, rule
 * deliveries), named `multiactive-<env>-<purpose>`, but the work queues (the ordinary lane, whose messages
 * wait there by design).
 */
async function deadLetters({ topology, clients, names }: Reading): Promise<ReadinessSnapshot['deadLetters']> {
  const out: Array<{ region: string; queue: string; depth: number }> = [];
  for (const region of regionNames(topology)) {
    const sqs = clients.sqs(region);
    const listed = await settled(sqs.send(new ListQueuesCommand({ QueueNamePrefix: names.queuePrefix })));
    for (const url of listed?.QueueUrls ?? []) {
      if (names.workQueues?.includes(url.split('/').pop() ?? '')) continue;
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      // Visible and in flight: applier-failures' records are redriven, so they are mostly received (or
      // backing off) and invisible; each is an event this region still misses.
      const visible = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0);
      const inFlight = Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      out.push({ region, queue: url.split('/').pop() ?? url, depth: visible + inFlight });
    }
  }
  return out;
}

/**
 * Every alarm of the environment in every region and in the global region, named with its region (a
 * cell's alarms have the same names in every region), except the alarm on readiness itself.
 */
async function alarms({ topology, clients, names }: Reading): Promise<ReadinessSnapshot['alarms']> {
  const regions = [...new Set([names.globalRegion, ...regionNames(topology)])];
  const lists = await Promise.all(
    regions.map(async (region) => {
      const { MetricAlarms = [] } = await clients
        .cloudwatch(region)
        .send(new DescribeAlarmsCommand({ AlarmNamePrefix: names.alarmPrefix, MaxRecords: 100 }));
      return MetricAlarms.filter((a) => a.AlarmName !== names.readinessAlarm).map((a) => ({
        name: `${a.AlarmName ?? '?'} (${region})`,
        state: a.StateValue ?? '?',
      }));
    }),
  );
  return lists.flat();
}

/** The newest finished Repair execution of any region, with its failed partitions. */
async function lastRepair({ topology, clients }: Reading): Promise<ReadinessSnapshot['lastRepair']> {
  const { executions } = clients;
  const lists = await Promise.all(
    regionNames(topology).map((r) => settled(executions.list?.('Repair', r, 5) ?? Promise.resolve([]))),
  );
  const newest = lists
    .flatMap((l) => l ?? [])
    .filter((e) => e.status !== 'RUNNING')
    .sort((a, b) => b.startDate - a.startDate)[0];
  if (!newest) return undefined;
  const described = await executions.describe(newest.executionArn);
  const report = (
    described.output as
      | { report?: { partitionsFailed?: unknown[]; partitionsFailedCount?: number } }
      | undefined
  )?.report;
  return {
    status: described.status,
    region: described.region,
    at: described.stopDate ?? described.startDate,
    partitionsFailed: failedCount(report),
  };
}

/** Failed partitions of a Repair Report: its exact count, else the length of its (older, full) list. */
function failedCount(report: { partitionsFailed?: unknown[]; partitionsFailedCount?: number } | undefined) {
  return typeof report?.partitionsFailedCount === 'number'
    ? report.partitionsFailedCount
    : report?.partitionsFailed?.length;
}

/**
 * What readiness looks at in a deployed environment (read by the CLI with the operator's credentials,
 * and by the scheduled readiness function with its role): stack versions, Route 53 health checks,
 * ReplicationLagMs, dead-letter queues, alarms, the control tables of every region (the partition map
 * compared across them) and the last Repair execution.
 */
export async function awsReadinessSnapshot(
  topology: Topology,
  clients: AwsReadClients,
  names: AwsReadinessNames,
  now = new Date(),
): Promise<ReadinessSnapshot> {
  const reading: Reading = { topology, clients, names, now };
  const control = tableNames(topology.name).control;
  const replicas = regionNames(topology).map(
    (region) => new DynamoControlReplica({ region, client: clients.dynamo(region), tableName: control }),
  );
  const map = await readMapView(replicas, topology.partitions, replicas.length);
  return {
    topology,
    timers: awsTimers(topology),
    versions: await versions(reading),
    health: await health(reading),
    lag: await lag(reading),
    deadLetters: await deadLetters(reading),
    controlReachable: map.answered,
    alarms: await alarms(reading),
    map,
    lastRepair: await lastRepair(reading),
  };
}

/** What the schedule last said in one region: its Readiness metric and the state of its alarm. */
export interface ScheduledReadiness {
  readonly region: string;
  /** The newest Readiness datapoint of the last 10 minutes (1: ready), and its time. */
  readonly ready: boolean | undefined;
  readonly at: string | undefined;
  readonly alarm: string | undefined;
}

/** The scheduled evaluation as each region's readiness function published it (`status --env`). */
export async function awsScheduledReadiness(
  topology: Topology,
  clients: AwsReadClients,
  names: AwsReadinessNames,
  now = new Date(),
): Promise<ScheduledReadiness[]> {
  return Promise.all(
    regionNames(topology).map(async (region) => {
      const cloudwatch = clients.cloudwatch(region);
      const [data, alarms] = await Promise.all([
        settled(
          cloudwatch.send(
            new GetMetricDataCommand({
              StartTime: new Date(now.getTime() - 10 * 60_000),
              EndTime: now,
              ScanBy: 'TimestampDescending',
              MetricDataQueries: [
                {
                  Id: 'readiness',
                  MetricStat: {
                    Metric: {
                      Namespace: names.metrics.namespace,
                      MetricName: READINESS_METRIC,
                      Dimensions: [{ Name: 'service', Value: names.metrics.readinessService }],
                    },
                    Period: 60,
                    Stat: 'Minimum',
                  },
                },
              ],
            }),
          ),
        ),
        settled(cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [names.readinessAlarm] }))),
      ]);
      const result = data?.MetricDataResults?.[0];
      const value = result?.Values?.[0];
      return {
        region,
        ready: value === undefined ? undefined : value >= 1,
        at: result?.Timestamps?.[0]?.toISOString(),
        alarm: alarms?.MetricAlarms?.[0]?.StateValue,
      };
    }),
  );
}

/** One authorization IAM makes for a call of the snapshot: the API operation, its action and resource. */
export interface ReadinessAuthorization {
  readonly operation: string;
  readonly action: string;
  readonly resource: string;
}

/**
 * The authorizations `awsReadinessSnapshot` needs in AWS, call by call, for an account whose health
 * checks have these ids: the sandbox, which answers the same questions from its own state (it has no
 * Route 53, CloudFormation or SQS API), asks IAM for exactly these as the readiness function's role.
 */
export function readinessAuthorizations(
  topology: Topology,
  names: AwsReadinessNames,
  deployed: {
    readonly healthCheckIds: readonly string[];
    /** Every queue (all dead-letter queues) of each region. */
    readonly queues: readonly string[];
    /** Every alarm of the environment and its region (DescribeAlarms answers those IAM allows). */
    readonly alarms: ReadonlyArray<{ readonly region: string; readonly name: string }>;
  },
): ReadinessAuthorization[] {
  const { account } = topology;
  const regions = regionNames(topology);
  const control = tableNames(topology.name).control;
  const one = (operation: string, action: string, resource: string) => ({ operation, action, resource });
  return [
    ...regions.map((r) =>
      one(
        'DescribeStacks',
        'cloudformation:DescribeStacks',
        `arn:aws:cloudformation:${r}:${account}:stack/${fillName(names.stack, { region: r })}/sandbox`,
      ),
    ),
    one('ListHealthChecks', 'route53:ListHealthChecks', '*'),
    ...deployed.healthCheckIds.map((id) =>
      one('GetHealthCheckStatus', 'route53:GetHealthCheckStatus', `arn:aws:route53:::healthcheck/${id}`),
    ),
    one('GetMetricData', 'cloudwatch:GetMetricData', '*'),
    ...deployed.alarms.map((a) =>
      one(
        'DescribeAlarms',
        'cloudwatch:DescribeAlarms',
        `arn:aws:cloudwatch:${a.region}:${account}:alarm:${a.name}`,
      ),
    ),
    one('ListQueues', 'sqs:ListQueues', '*'),
    ...regions.flatMap((r) =>
      deployed.queues.map((q) =>
        one('GetQueueAttributes', 'sqs:GetQueueAttributes', `arn:aws:sqs:${r}:${account}:${q}`),
      ),
    ),
    ...regions.map((r) =>
      one(
        'ListExecutions',
        'states:ListExecutions',
        fillName(names.stateMachineArn, { region: r, runbook: 'Repair' }),
      ),
    ),
    ...regions.map((r) =>
      one('BatchGetItem', 'dynamodb:BatchGetItem', `arn:aws:dynamodb:${r}:${account}:table/${control}`),
    ),
  ];
}
