import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LAG_METRIC_SERVICE } from '../../cdk/constructs/function-defaults.ts';
import { loadTopology, peersOf, regionNames } from '../../lib/config/index.ts';
import { TABLE_KINDS, tableName } from '../../lib/store/tables.ts';
import { templatesOf, testEnvironment } from './support/app.ts';

const dev = loadTopology('dev');
let templates: Record<string, Template>;

beforeAll(() => {
  templates = templatesOf(testEnvironment(dev));
});

const ENV_CONTRACT = [
  'MULTIACTIVE_ENV',
  'MULTIACTIVE_REGION',
  'TABLE_EVENTS',
  'TABLE_STATE',
  'TABLE_REPLICATION',
  'TABLE_CONTROL',
  'TABLE_QUARANTINE',
  'TABLE_IDEMPOTENCY',
  'EVENT_BUS_NAME',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
  'REGION_ENDPOINTS',
  'NODE_OPTIONS',
];

describe.each(regionNames(dev))('RegionalStack in %s (dev, 3 regions)', (region) => {
  const template = () => templates[region]!;
  const peers = peersOf(dev, region);

  it('deploys the same set of resources as every other region', () => {
    const t = template();
    t.resourceCountIs('AWS::DynamoDB::Table', 6);
    t.resourceCountIs('AWS::Lambda::Function', 6);
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 5);
    // The bus lives in the region's foundation stack, deployed first.
    t.resourceCountIs('AWS::Events::EventBus', 0);
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
  });

  it('builds the six tables from lib/store/tables.ts, with PITR, KMS encryption and on-demand billing', () => {
    for (const kind of TABLE_KINDS) {
      template().hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: tableName('dev', kind),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        // SSEEnabled without SSEType is the AWS-managed KMS key (aws/dynamodb).
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: false,
      });
    }
  });

  it('streams new images of the events table and indexes it by partition', () => {
    template().hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'multiactive-dev-events',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byPartition' })],
    });
    template().hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'multiactive-dev-idempotency',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('gives every function the environment contract, Node.js 22 on arm64', () => {
    const functions = template().findResources('AWS::Lambda::Function');
    for (const fn of Object.values(functions)) {
      const props = fn.Properties;
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(Object.keys(props.Environment.Variables)).toEqual(expect.arrayContaining(ENV_CONTRACT));
      expect(props.Environment.Variables.MULTIACTIVE_REGION).toBe(region);
      expect(JSON.parse(props.Environment.Variables.REGION_ENDPOINTS)).toEqual({
        'us-east-1': 'https://us-east-1.dev.multiactive.example.com',
        'eu-west-1': 'https://eu-west-1.dev.multiactive.example.com',
        'ap-southeast-1': 'https://ap-southeast-1.dev.multiactive.example.com',
      });
    }
  });

  it('bounds the publisher stream source: bisect, retry cap, on-failure queue, batch item failures', () => {
    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('denies PutEvents on its bus to every principal but the replication writers', () => {
    interface BusPolicy {
      Statement: Array<{
        Effect: string;
        Principal: unknown;
        Action: string;
        Condition: Record<string, Record<string, string[]>>;
      }>;
    }
    const [bus] = Object.values(templates[`${region}-foundation`]!.findResources('AWS::Events::EventBus'));
    expect(bus?.Properties.Name).toBe('multiactive-dev-bus');
    const statements = (bus!.Properties.Policy as BusPolicy).Statement;
    expect(statements).toHaveLength(1);
    const [deny] = statements;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'events:PutEvents' });
    const writers = deny!.Condition.ArnNotEquals!['aws:PrincipalArn']!;
    const role = (name: string) => `arn:aws:iam::111111111111:role/multiactive-dev-${name}`;
    for (const peer of peers) expect(writers).toContain(role(`${peer}-to-${region}`));
    for (const fn of ['publisher', 'applier', 'runbook']) expect(writers).toContain(role(`${region}-${fn}`));
    for (const peer of peers) expect(writers).toContain(role(`${peer}-runbook`));
    expect(writers).not.toContain(role(`${region}-api`));
    expect(writers.filter((arn) => arn.includes('-to-'))).toHaveLength(peers.length);
  });

  it('forwards local-origin replication events to each peer bus with a role and a DLQ', () => {
    for (const peer of peers) {
      template().hasResourceProperties('AWS::Events::Rule', {
        Name: `multiactive-dev-to-${peer}`,
        EventPattern: { source: ['multiactive.replication'], detail: { origin: [region] } },
        Targets: [
          Match.objectLike({
            Arn: `arn:aws:events:${peer}:111111111111:event-bus/multiactive-dev-bus`,
            RoleArn: Match.anyValue(),
            DeadLetterConfig: Match.anyValue(),
          }),
        ],
      });
    }
  });

  it('delivers every other origin to the applier with a retry policy and a DLQ', () => {
    template().hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-dev-apply',
      EventPattern: { source: ['multiactive.replication'], detail: { origin: [{ 'anything-but': region }] } },
      Targets: [Match.objectLike({ RetryPolicy: Match.anyValue(), DeadLetterConfig: Match.anyValue() })],
    });
  });

  it('throttles and access-logs the HTTP API stage, and serves /v1/{proxy+} and /health', () => {
    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /v1/{proxy+}' });
    template().hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health' });
    template().hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: `${region}.dev.multiactive.example.com`,
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'api.dev.multiactive.example.com',
    });
  });

  it('alarms on lag from each peer with the Powertools dimension set, and on quarantine, 5xx and errors', () => {
    for (const peer of peers) {
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'multiactive',
        MetricName: 'ReplicationLagMs',
        Threshold: dev.thresholds.degradeLagMs,
        // CloudWatch matches the exact dimension set (order is irrelevant; CDK sorts by name).
        Dimensions: [
          { Name: 'From', Value: peer },
          { Name: 'To', Value: region },
          { Name: 'service', Value: LAG_METRIC_SERVICE },
        ],
      });
    }
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'QuarantinedEvents' });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx' });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: Match.anyValue() }],
    });
  });

  it('alarms on failed Switchover and Failback executions, naming RollbackRefused (partitions left with their homes)', () => {
    for (const name of ['Switchover', 'Failback']) {
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `multiactive-dev-${name}-failed`,
        AlarmDescription: Match.stringLikeRegexp('RollbackRefused'),
        Metrics: Match.arrayWith([
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ Namespace: 'AWS/States', MetricName: 'ExecutionsFailed' }),
            }),
          }),
        ]),
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('runs all five runbooks, named per environment, traced and fully logged (dev logs execution data)', () => {
    for (const name of ['Switchover', 'Failover', 'Failback', 'Repair', 'ResolveConflict']) {
      template().hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `multiactive-dev-${name}`,
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
    }
  });
});

describe('failover triggers in dev', () => {
  it('starts the Failover runbook of the nearest peer only: us-east-1 <-> eu-west-1, ap-southeast-1 -> eu-west-1', () => {
    const triggers = (region: string) =>
      Object.values(templates[region]!.findResources('AWS::Events::Rule'))
        .map((rule) => rule.Properties.Name as string | undefined)
        .filter((name) => name?.includes('-failover-'))
        .sort();
    expect(triggers('us-east-1')).toEqual(['multiactive-dev-failover-eu-west-1']);
    expect(triggers('eu-west-1')).toEqual([
      'multiactive-dev-failover-ap-southeast-1',
      'multiactive-dev-failover-us-east-1',
    ]);
    expect(triggers('ap-southeast-1')).toEqual([]);
  });
});
