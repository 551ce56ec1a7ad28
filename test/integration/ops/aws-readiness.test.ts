import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awsExecutions } from '../../../bin/cli/aws-target.ts';
import { serveConsole } from '../../../bin/cli/console.ts';
import { readinessAlarmName, readinessNames } from '../../../cdk/constructs/readiness.ts';
import {
  GLOBAL_REGION,
  queueName,
  regionalStackName,
  regionHostName,
  stateMachineArn,
} from '../../../cdk/naming.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { createReadinessHandler } from '../../../functions/readiness/handler.ts';
import { awsReadClients } from '../../../functions/shared/aws-read-clients.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';
import { awsAdminControl } from '../../../lib/ops/admin-control.ts';
import { awsReadinessSnapshot } from '../../../lib/ops/aws-readiness.ts';
import { awsReadiness as readinessOf, awsStatus as statusOf } from '../../../lib/ops/aws-status.ts';
import { evaluateOnSchedule, powertoolsReadinessMetrics } from '../../../lib/ops/scheduled-readiness.ts';
import { DynamoControlReplica, partitionKey } from '../../../lib/ownership/index.ts';
import { regionTrafficKey } from '../../../lib/resilience/traffic-breaker.ts';
import { localClients } from '../../../lib/sandbox/dynamodb/clients.ts';
import { createTables, tableNames } from '../../../lib/store/index.ts';

// `readiness --env` / `status --env` of a deployed environment: Route 53, CloudWatch, CloudFormation, SQS
// and Step Functions mocked at the SDK boundary; the control tables are real (DynamoDB Local, one
// namespace per region), read through the quorum as in AWS.
const route53 = mockClient(Route53Client);
const cloudwatch = mockClient(CloudWatchClient);
const cloudformation = mockClient(CloudFormationClient);
const sqs = mockClient(SQSClient);
const sfn = mockClient(SFNClient);
let topology: Topology;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const local = (region: string) => localClients(inject('dynamoEndpoint'), region);

beforeAll(async () => {
  topology = parseTopology({
    ...bank.topology('prod'),
    name: `rdy${process.pid}x${Date.now().toString(36)}`,
  });
  const control = tableNames(topology.name).control;
  for (const region of REGIONS) {
    await createTables(local(region).dynamodb, topology.name);
    const replica = new DynamoControlReplica({ region, client: local(region).doc, tableName: control });
    for (const [p, home] of [
      [1, 'us-east-1'],
      [2, 'eu-west-1'],
      [3, 'eu-west-1'],
    ] as const)
      await replica.write(partitionKey(p), {
        epoch: 2,
        ballot: `b${p}`,
        value: { home, state: 'active', activeFrom: 0 },
      });
    await replica.write(regionTrafficKey('us-east-1'), {
      epoch: 1,
      ballot: 't',
      value: { state: 'active', changedAt: 0 },
    });
  }
});

afterAll(() => {
  for (const mock of [route53, cloudwatch, cloudformation, sqs, sfn]) mock.restore();
});

/** The cell's dead-letter queues as CloudFormation names them (queueName: the same in every region). */
const QUEUES = [
  'publisher-failures',
  'applier-failures',
  'applier-failures-dead-letters',
  'apply-dead-letters',
  'forward-dead-letters',
  'ordinary-lane',
  'ordinary-lane-dead-letters',
];
/** The ordinary lane's queue holds work, not failures: the dead-letter check skips it. */
const WORK_QUEUES = 1;

interface AwsState {
  readonly lost?: string;
  /** Messages waiting in one region's queue (visible), and received but not deleted (`inFlight`). */
  readonly deadLetter?: { region: string; queue: string; depth: number; inFlight?: number };
  /** The state of every cell's readiness alarm (the scheduled evaluation's own alarm). */
  readonly readinessAlarm?: 'OK' | 'ALARM';
}

function mockAws(options: AwsState) {
  for (const mock of [route53, cloudwatch, cloudformation, sqs, sfn]) mock.reset();
  route53.on(ListHealthChecksCommand).resolves({
    HealthChecks: REGIONS.map((r, i) => ({
      Id: `hc-${i}`,
      CallerReference: r,
      HealthCheckVersion: 1,
      HealthCheckConfig: { Type: 'HTTPS', FullyQualifiedDomainName: regionHostName(topology, r) },
    })),
    Marker: '',
    IsTruncated: false,
    MaxItems: 100,
  });
  route53.on(GetHealthCheckStatusCommand).callsFake(async ({ HealthCheckId }: { HealthCheckId: string }) => {
    const lost = options.lost !== undefined && HealthCheckId === `hc-${REGIONS.indexOf(options.lost)}`;
    const status = lost ? 'Failure: Connection timed out.' : 'Success: HTTP Status Code 200, OK';
    return {
      HealthCheckObservations: ['us-east-1', 'eu-west-1', 'ap-northeast-1'].map((Region) => ({
        Region,
        IPAddress: '1.2.3.4',
        StatusReport: { Status: status },
      })),
    };
  });
  // The health-check alarms live in us-east-1 only (Route 53 metrics exist nowhere else).
  cloudwatch
    .on(DescribeAlarmsCommand)
    .callsFake(async (input: { AlarmNames?: string[] }, client: () => CloudWatchClient) => {
      const region = await client().config.region();
      const readiness = {
        AlarmName: readinessAlarmName(topology.name),
        StateValue: options.readinessAlarm ?? 'OK',
      };
      if (input.AlarmNames) return { MetricAlarms: [readiness] };
      return {
        MetricAlarms: [
          ...(region === 'us-east-1'
            ? REGIONS.map((r) => ({
                AlarmName: `multiactive-${topology.name}-health-${r}`,
                StateValue: r === options.lost ? 'ALARM' : 'OK',
              }))
            : []),
          readiness,
        ],
      };
    });
  cloudwatch
    .on(GetMetricDataCommand)
    .callsFake(async (input: { MetricDataQueries: Array<{ Id: string }> }) =>
      input.MetricDataQueries[0]!.Id === 'readiness'
        ? {
            MetricDataResults: [
              { Id: 'readiness', Values: [1], Timestamps: [new Date('2026-11-30T14:04:00Z')] },
            ],
          }
        : { MetricDataResults: [{ Id: 'lag', Values: [420, 380] }] },
    );
  cloudformation.on(DescribeStacksCommand).callsFake(async ({ StackName }: { StackName: string }) => ({
    Stacks: [
      {
        StackName,
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Tags: [{ Key: 'multiactive:version', Value: '0.1.0+abc123' }],
      },
    ],
  }));
  sqs
    .on(ListQueuesCommand)
    .callsFake(async ({ QueueNamePrefix }: { QueueNamePrefix: string }, client: () => SQSClient) => {
      const region = await client().config.region();
      const urls = QUEUES.map(
        (q) => `https://sqs.${region}.amazonaws.com/222222222222/${queueName(topology.name, q)}`,
      );
      return { QueueUrls: urls.filter((u) => u.split('/').pop()!.startsWith(QueueNamePrefix)) };
    });
  sqs.on(GetQueueAttributesCommand).callsFake(async ({ QueueUrl }: { QueueUrl: string }) => {
    const d = options.deadLetter;
    const full =
      d &&
      QueueUrl === `https://sqs.${d.region}.amazonaws.com/222222222222/${queueName(topology.name, d.queue)}`;
    return {
      Attributes: {
        ApproximateNumberOfMessages: full ? String(d.depth) : '0',
        ApproximateNumberOfMessagesNotVisible: full ? String(d.inFlight ?? 0) : '0',
      },
    };
  });
  const repairArn = `${stateMachineArn(topology, 'us-east-1', 'Repair').replace(':stateMachine:', ':execution:')}:nightly`;
  sfn
    .on(ListExecutionsCommand)
    .callsFake(async ({ stateMachineArn: machine }: { stateMachineArn: string }) => ({
      executions:
        machine.includes(':us-east-1:') && machine.endsWith('-Repair')
          ? [
              {
                executionArn: repairArn,
                stateMachineArn: machine,
                name: 'nightly',
                status: 'SUCCEEDED',
                startDate: new Date(Date.now() - 3_600_000),
                stopDate: new Date(Date.now() - 3_500_000),
              },
            ]
          : [],
    }));
  sfn.on(DescribeExecutionCommand).resolves({
    executionArn: repairArn,
    stateMachineArn: stateMachineArn(topology, 'us-east-1', 'Repair'),
    name: 'nightly',
    status: 'SUCCEEDED',
    startDate: new Date(Date.now() - 3_600_000),
    stopDate: new Date(Date.now() - 3_500_000),
    output: JSON.stringify({ report: { partitionsChecked: 256, partitionsFailed: [] } }),
  });
}

const awsReadiness = (t: Topology, c: ReturnType<typeof clients>) => readinessOf(t, c, readinessNames(t));
const awsStatus = (t: Topology, c: ReturnType<typeof clients>) => statusOf(t, c, readinessNames(t));

const clients = () => ({
  ...awsReadClients(
    awsExecutions(topology, (region) => new SFNClient({ region })),
    GLOBAL_REGION,
  ),
  dynamo: (region: string) => local(region).doc,
});

describe('multiactive readiness --env / status --env (AWS reads)', () => {
  it('is READY when Route 53, alarms, lag, DLQs, versions, the control quorum and the last repair are fine', async () => {
    mockAws({});
    const report = await awsReadiness(topology, clients());
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ready).toBe(true);
    expect(report.checks.find((c) => c.id === 'partition-map')?.detail).toContain('"eu-west-1":2');
    expect(cloudformation.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName)).toEqual(
      REGIONS.map((r) => regionalStackName(topology.name, r)),
    );
    const lagQuery =
      cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries![0]!.MetricStat!;
    expect(lagQuery.Metric).toMatchObject({ Namespace: 'multiactive', MetricName: 'ReplicationLagMs' });
  });

  it('is NOT READY with a region lost, naming it in the health and alarm checks', async () => {
    mockAws({ lost: 'ap-southeast-1' });
    const report = await awsReadiness(topology, clients());
    expect(report.ready).toBe(false);
    expect(report.checks.filter((c) => !c.ok).map((c) => [c.id, c.detail])).toEqual([
      ['health', 'ap-southeast-1 UNHEALTHY'],
      ['alarms', `multiactive-${topology.name}-health-ap-southeast-1 (us-east-1)`],
    ]);
  });

  it("reads every region's dead-letter queues by their names (multiactive-<env>-<purpose>) and names a full one", async () => {
    mockAws({ deadLetter: { region: 'eu-west-1', queue: 'apply-dead-letters', depth: 3 } });
    const report = await awsReadiness(topology, clients());
    expect(sqs.commandCalls(ListQueuesCommand).map((c) => c.args[0].input.QueueNamePrefix)).toEqual(
      REGIONS.map(() => `multiactive-${topology.name}-`),
    );
    expect(sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(
      REGIONS.length * (QUEUES.length - WORK_QUEUES),
    );
    expect(report.checks.find((c) => c.id === 'dead-letters')).toMatchObject({
      ok: false,
      detail: `eu-west-1 multiactive-${topology.name}-apply-dead-letters: 3`,
    });
  });

  it('counts the records of applier-failures in flight (being redriven, invisible to ApproximateNumberOfMessages): each is an event the region misses', async () => {
    mockAws({ deadLetter: { region: 'eu-west-1', queue: 'applier-failures', depth: 0, inFlight: 4 } });
    const report = await awsReadiness(topology, clients());
    expect(report.checks.find((c) => c.id === 'dead-letters')).toMatchObject({
      ok: false,
      detail: `eu-west-1 multiactive-${topology.name}-applier-failures: 4`,
    });
  });

  it("leaves the ordinary lane's queue out of the dead-letter check: its messages are work in progress", async () => {
    mockAws({ deadLetter: { region: 'eu-west-1', queue: 'ordinary-lane', depth: 40 } });
    const report = await awsReadiness(topology, clients());
    expect(report.checks.find((c) => c.id === 'dead-letters')).toMatchObject({ ok: true });
    mockAws({ deadLetter: { region: 'eu-west-1', queue: 'ordinary-lane-dead-letters', depth: 2 } });
    const lost = await awsReadiness(topology, clients());
    expect(lost.checks.find((c) => c.id === 'dead-letters')).toMatchObject({ ok: false });
  });

  it('leaves the readiness alarm out of the alarms check: a NOT READY would otherwise keep itself NOT READY', async () => {
    mockAws({ readinessAlarm: 'ALARM' });
    const report = await awsReadiness(topology, clients());
    expect(report.checks.find((c) => c.id === 'alarms')).toMatchObject({ ok: true });
    expect(report.ready).toBe(true);
  });

  it('status shows per region health, traffic, open conflicts and dead letters, lag per link and partitions per home', async () => {
    mockAws({ lost: 'ap-southeast-1' });
    const status = await awsStatus(topology, clients());
    expect(status.regions.map((r) => [r.region, r.healthy, r.traffic, r.openConflicts])).toEqual([
      ['us-east-1', true, 'active', 0],
      ['eu-west-1', true, 'active', 0],
      ['ap-southeast-1', false, 'active', 0],
    ]);
    expect(status.partitionsPerHome).toEqual({ 'us-east-1': 1, 'eu-west-1': 2 });
    expect(status.lag).toHaveLength(6);
    expect(status.lag[0]).toMatchObject({ lagMs: 420 });
    expect(status.regions[0]!.deadLetters.map((d) => d.queue)).toEqual(
      QUEUES.filter((q) => q !== 'ordinary-lane').map((q) => queueName(topology.name, q)),
    );
    expect(status.regions[0]!.readiness).toEqual({
      region: 'us-east-1',
      ready: true,
      at: '2026-11-30T14:04:00.000Z',
      alarm: 'OK',
    });
  });
});

describe('readiness on a schedule (the readiness function, AWS mocked at the SDK boundary)', () => {
  /** One scheduled run: the handler over the same snapshot, publishing through Powertools (EMF). */
  async function scheduledRun() {
    const metrics = new Metrics({ namespace: 'multiactive', serviceName: 'multiactive-readiness' });
    const warnings: unknown[] = [];
    const run = createReadinessHandler({
      evaluate: () =>
        evaluateOnSchedule({
          snapshot: () => awsReadinessSnapshot(topology, clients(), readinessNames(topology)),
          metrics: powertoolsReadinessMetrics(metrics),
        }),
      log: { info: () => {}, warn: (...args: unknown[]) => void warnings.push(args) },
    });
    const result = await run();
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> };
    };
    return { result, emf, warnings };
  }

  it('publishes Readiness 1 (0 failed checks) when the environment is ready', async () => {
    mockAws({});
    const { result, emf } = await scheduledRun();
    expect(result).toMatchObject({ ready: true, failing: [] });
    expect(emf).toMatchObject({ Readiness: 1, ReadinessFailedChecks: 0, service: 'multiactive-readiness' });
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'multiactive',
      Dimensions: [['service']],
    });
  });

  it('publishes Readiness 0 and logs each failing check with its reason when a region is lost', async () => {
    mockAws({ lost: 'ap-southeast-1' });
    const { result, emf, warnings } = await scheduledRun();
    expect(emf).toMatchObject({ Readiness: 0, ReadinessFailedChecks: 2 });
    expect(result.failing).toEqual([
      { check: 'health', reason: 'ap-southeast-1 UNHEALTHY' },
      { check: 'alarms', reason: `multiactive-${topology.name}-health-ap-southeast-1 (us-east-1)` },
    ]);
    expect(warnings).toHaveLength(1);
  });
});

describe('multiactive console --env (the console served here, its control requests answered from AWS)', () => {
  it('serves the console and answers status, readiness, the map and executions with their steps from AWS', async () => {
    mockAws({ lost: 'ap-southeast-1' });
    const t0 = new Date(Date.now() - 3_600_000);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 1, type: 'ExecutionStarted', timestamp: t0 },
        {
          id: 2,
          type: 'TaskStateEntered',
          timestamp: t0,
          stateEnteredEventDetails: { name: 'ListPartitions' },
        },
        {
          id: 3,
          type: 'TaskStateExited',
          timestamp: t0,
          stateExitedEventDetails: { name: 'ListPartitions' },
        },
        { id: 4, type: 'ExecutionSucceeded', timestamp: t0 },
      ],
    });
    const control = awsAdminControl({ topology, clients: clients(), names: readinessNames(topology) });
    const { server, url } = await serveConsole(control);
    try {
      const page = await fetch(url);
      expect(await page.text()).toContain('<div id="app">');
      expect((await fetch(`${url}console.js`)).status).toBe(200);
      const post = async (request: unknown) => {
        const response = await fetch(url, { method: 'POST', body: JSON.stringify(request) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const status = (await post({ action: 'status' })).body as {
        target: string;
        regions: Array<{
          region: string;
          healthy: boolean;
          deadLetters: number;
          readiness: { ready: boolean };
        }>;
      };
      expect(status.target).toBe('aws');
      expect(status.regions.map((r) => [r.region, r.healthy, r.deadLetters, r.readiness.ready])).toEqual([
        ['us-east-1', true, 0, true],
        ['eu-west-1', true, 0, true],
        ['ap-southeast-1', false, 0, true],
      ]);
      expect((await post({ action: 'readiness' })).body).toMatchObject({ ready: false });
      expect((await post({ action: 'map' })).body).toMatchObject({
        perHome: { 'us-east-1': 1, 'eu-west-1': 2 },
      });
      const executions = (await post({ action: 'executions' })).body.executions as Array<{
        stateMachine: string;
        steps: Array<{ name: string }>;
      }>;
      expect(executions.map((e) => [e.stateMachine, e.steps.map((s) => s.name)])).toEqual([
        [`multiactive-${topology.name}-Repair`, ['ListPartitions']],
      ]);
      // Polled again within seconds: answered from what was read, not from AWS again.
      const calls = sfn.commandCalls(ListExecutionsCommand).length;
      await post({ action: 'executions' });
      expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(calls);
      const unsupported = await post({ action: 'conflicts-list' });
      expect(unsupported).toMatchObject({ status: 400, body: { error: 'UsageError' } });
      expect(String(unsupported.body.message)).toContain('not available for a deployed environment yet');
    } finally {
      server.close();
    }
  });

  it('starts a runbook from the console under the idempotent execution name, in the region the plan says', async () => {
    mockAws({});
    const machine = stateMachineArn(topology, 'eu-west-1', 'Failover');
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${machine}:x`, startDate: new Date() });
    const now = Date.parse('2026-11-30T14:05:00Z');
    const control = awsAdminControl({
      topology,
      clients: clients(),
      names: readinessNames(topology),
      now: () => now,
    });
    await control({ action: 'runbook-start', runbook: 'Failover', options: { region: 'us-east-1' } });
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(machine);
    expect(start.name).toMatch(/^Failover-[0-9a-f]{16}-20261130T14$/);
    await expect(control({ action: 'runbook-start', runbook: 'Reboot' })).rejects.toThrow(/unknown runbook/);
  });
});
