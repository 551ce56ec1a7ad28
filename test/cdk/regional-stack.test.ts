import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, LAG_METRIC_SERVICE } from '../../cdk/constructs/function-defaults.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { peersOf, regionNames } from '../../lib/config/index.ts';
import { TABLE_KINDS, tableName } from '../../lib/store/tables.ts';
import { shippedTemplatesOf } from './support/app.ts';

const dev = bank.topology('dev');
let templates: Record<string, Template>;

beforeAll(async () => {
  templates = await shippedTemplatesOf('dev');
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
  'SAGA_STATE_MACHINE_ARN',
  'NODE_OPTIONS',
];

describe.each(regionNames(dev))('RegionalStack in %s (dev, 3 regions)', (region) => {
  const template = () => templates[region]!;
  const peers = peersOf(dev, region);

  it('deploys the same set of resources as every other region', () => {
    const t = template();
    t.resourceCountIs('AWS::DynamoDB::Table', 7);
    t.resourceCountIs('AWS::Lambda::Function', FUNCTION_NAMES.length);
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 6);
    // The bus lives in the region's foundation stack, deployed first.
    t.resourceCountIs('AWS::Events::EventBus', 0);
    t.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    t.resourceCountIs('AWS::ApiGatewayV2::Route', 3);
    // The publisher's stream, the ordinary lane's queue, applier-failures (redriven to the applier).
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  });

  it('builds the seven tables from lib/store/tables.ts, with PITR, KMS encryption and on-demand billing', () => {
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
    // Runbook results spilled out of a Step Functions state expire (lib/runbooks/spill.ts).
    template().hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'multiactive-dev-control',
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

  it('sends a real-time apply that failed three times to applier-failures, and redrives it to the applier (then an alarmed dead-letter queue)', () => {
    const t = template();
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: Match.anyValue(),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const queues = t.findResources('AWS::SQS::Queue', {
      Properties: { QueueName: 'multiactive-dev-applier-failures' },
    });
    const [queueId, queue] = Object.entries(queues)[0] ?? [];
    expect(queueId).toBeDefined();
    // The logical id of the queue cells deployed before it was redriven: a new one would replace it.
    expect(queueId).toBe('FunctionsApplierFailures2E3D1EE6');
    expect(queue?.Properties).toMatchObject({ RedrivePolicy: { maxReceiveCount: 60 } });
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(360);
    expect(queue?.DeletionPolicy).toBe('Retain');
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    // In ALARM while a record is there, visible or in flight (backing off); under the logical id the
    // visible-messages alarm of that name had, so an update does not create the same AlarmName twice.
    const alarms = t.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: 'multiactive-dev-applier-failures' },
    });
    const [alarmId, alarm] = Object.entries(alarms)[0] ?? [];
    expect(alarmId).toBe('AlarmsNotEmptyapplierfailures6ADBC01A');
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('ApproximateNumberOfMessagesNotVisible');
    expect(alarm?.Properties).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(visible, 0) + FILL(inFlight, 0)' }),
      ]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'multiactive-dev-applier-failures-dead-letters',
      MetricName: 'ApproximateNumberOfMessagesVisible',
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

  it('sends ordinary-tier events to a batched lane: rule -> encrypted queue with redrive -> applier batches', () => {
    const t = template();
    // The real-time rule leaves the events the origin stamped ordinary to the lane (not a list of types: a
    // deploy moving a type between tiers changes neither rule); an unstamped event still comes here.
    t.hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-dev-apply',
      EventPattern: {
        'detail-type': [{ 'anything-but': { prefix: 'ordinary:' } }],
        detail: { origin: [{ 'anything-but': region }], $or: Match.absent(), aggregateType: Match.absent() },
      },
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-dev-ordinary-lane',
      EventPattern: {
        source: ['multiactive.replication'],
        'detail-type': [{ prefix: 'ordinary:' }],
        detail: { origin: [{ 'anything-but': region }], aggregateType: Match.absent() },
      },
      Targets: [Match.objectLike({ RetryPolicy: Match.anyValue(), DeadLetterConfig: Match.anyValue() })],
    });
    const queues = t.findResources('AWS::SQS::Queue', {
      Properties: { QueueName: 'multiactive-dev-ordinary-lane' },
    });
    const [queue] = Object.values(queues);
    expect(queue?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    // At least six times the applier's 60 s timeout.
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(360);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: Match.anyValue(),
      EventSourceArn: { 'Fn::GetAtt': [Object.keys(queues)[0], 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Only EventBridge, for this rule only, may send to the queue (and only over TLS).
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Object.keys(queues)[0] }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^OrdinaryLaneRule'), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('authenticates /v1 with the JWT authorizer of api.auth, serves peers on /internal and /health apart', () => {
    template().hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    template().hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: 'https://auth.dev.multiactive.example.com/',
        Audience: ['multiactive-dev-api'],
      },
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /v1/{proxy+}',
      AuthorizationType: 'JWT',
      AuthorizerId: Match.anyValue(),
    });
    for (const key of ['ANY /internal/{proxy+}', 'GET /health']) {
      const routes = Object.values(template().findResources('AWS::ApiGatewayV2::Route')).filter(
        (route) => route.Properties.RouteKey === key,
      );
      expect(routes, key).toHaveLength(1);
      expect(routes[0]!.Properties.AuthorizationType ?? 'NONE', key).toBe('NONE');
    }
    // /health is integrated with the health function, not the API's.
    const integrations = Object.values(template().findResources('AWS::ApiGatewayV2::Integration'));
    expect(integrations).toHaveLength(2);
  });

  it('gives /v1, /internal and /health a throttle each and access-logs the stage', () => {
    template().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 }),
      RouteSettings: {
        'ANY /v1/{proxy+}': { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
        'ANY /internal/{proxy+}': { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
        'GET /health': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: `${region}.dev.multiactive.example.com`,
    });
    template().hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'api.dev.multiactive.example.com',
    });
  });

  it('runs a watchdog every minute that may start only its own Failover runbook', () => {
    template().hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-dev-watchdog',
      ScheduleExpression: 'rate(1 minute)',
    });
    const failover = `arn:aws:states:${region}:111111111111:stateMachine:multiactive-dev-Failover`;
    template().hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'multiactive-dev-watchdog',
      Environment: { Variables: Match.objectLike({ FAILOVER_STATE_MACHINE_ARN: failover }) },
    });
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'states:StartExecution', Resource: failover }),
        ]),
      },
    });
    // No rule anywhere starts a Failover from an alarm: the watchdogs' claim is the only trigger.
    const rules = Object.values(template().findResources('AWS::Events::Rule'));
    expect(rules.filter((rule) => String(rule.Properties.Name).includes('-failover-'))).toEqual([]);
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

describe('the internal key in dev', () => {
  it("is created once, in the first region's foundation, and replicated to every other region", () => {
    const secrets = (stack: string) =>
      Object.values(templates[stack]!.findResources('AWS::SecretsManager::Secret'));
    expect(secrets('us-east-1-foundation')).toHaveLength(1);
    expect(secrets('us-east-1-foundation')[0]!.Properties).toMatchObject({
      Name: 'multiactive-dev-internal-key',
      ReplicaRegions: [{ Region: 'eu-west-1' }, { Region: 'ap-southeast-1' }],
    });
    for (const stack of ['eu-west-1-foundation', 'ap-southeast-1-foundation', ...regionNames(dev)])
      expect(secrets(stack), stack).toEqual([]);
  });

  it("may be read only by the functions that sign or check, each from its own region's replica", () => {
    for (const region of regionNames(dev)) {
      const replica = `arn:aws:secretsmanager:${region}:111111111111:secret:multiactive-dev-internal-key-??????`;
      const readers = Object.values(templates[region]!.findResources('AWS::IAM::Policy'))
        .filter((policy) =>
          (policy.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>).some(
            (s) => s.Action === 'secretsmanager:GetSecretValue' && s.Resource === replica,
          ),
        )
        .flatMap((policy) => policy.Properties.Roles as Array<{ Ref: string }>)
        .map((role) => role.Ref);
      expect(readers.map((ref) => ref.replace(/[A-F0-9]{8}$/, '')).sort()).toEqual([
        'FunctionsapiRole',
        'FunctionsapplierRole',
        'FunctionspublisherRole',
        'FunctionsrunbookRole',
        // Forwards saga steps to an account's home, signed with a peer token.
        'FunctionssagaRole',
      ]);
    }
  });
});
