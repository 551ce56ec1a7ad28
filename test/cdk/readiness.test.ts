import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readinessAlarmName, readinessNames } from '../../cdk/constructs/readiness.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { regionNames } from '../../lib/config/index.ts';
import { fillName } from '../../lib/ops/aws-readiness.ts';
import { tableName } from '../../lib/store/tables.ts';
import { shippedTemplatesOf } from './support/app.ts';

const prod = bank.topology('prod');
let templates: Record<string, Template>;

beforeAll(async () => {
  templates = await shippedTemplatesOf('prod');
});

type Statement = { Action: string | string[]; Resource: unknown };

/** The identity-policy statements of the readiness function's role in one cell. */
function readinessStatements(template: Template): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.startsWith('Functionsreadiness'))
    .flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Statement[]) ?? []);
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat()).sort();

describe.each(regionNames(prod))('readiness on a schedule, cell in %s (prod)', (region) => {
  const template = () => templates[region]!;

  it('runs the readiness function every minute from an EventBridge schedule, without retries', () => {
    template().hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-prod-readiness',
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Functionsreadiness'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('hands the function the names it reads, computed from cdk/naming.ts', () => {
    const fns = template().findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: 'multiactive-prod-readiness' },
    });
    const env = Object.values(fns)[0]!.Properties.Environment.Variables as Record<string, string>;
    const names = JSON.parse(env.READINESS_NAMES!);
    expect(names).toEqual(readinessNames(prod));
    expect(fillName(names.stack, { region })).toBe(`multiactive-prod-${region}`);
    expect(fillName(names.stateMachineArn, { region, runbook: 'Repair' })).toBe(
      `arn:aws:states:${region}:${prod.account}:stateMachine:multiactive-prod-Repair`,
    );
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('multiactive-readiness');
  });

  it('alarms after three minutes not ready, counting a missing evaluation as not ready', () => {
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: readinessAlarmName('prod'),
      Namespace: 'multiactive',
      MetricName: 'Readiness',
      Dimensions: [{ Name: 'service', Value: 'multiactive-readiness' }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
    });
  });

  it('grants only the reads the evaluation makes, each on the names of this environment', () => {
    const statements = readinessStatements(template());
    const regions = regionNames(prod);
    expect(actionsOf(statements)).toEqual(
      [
        'cloudformation:DescribeStacks',
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricData',
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'route53:GetHealthCheckStatus',
        'route53:ListHealthChecks',
        'sqs:GetQueueAttributes',
        'sqs:ListQueues',
        'states:DescribeExecution',
        'states:ListExecutions',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const on = (action: string) =>
      statements
        .filter((s) => [s.Action].flat().includes(action))
        .flatMap((s) => [s.Resource].flat())
        .sort();
    expect(on('dynamodb:GetItem')).toEqual(
      regions
        .map((r) => `arn:aws:dynamodb:${r}:${prod.account}:table/${tableName('prod', 'control')}`)
        .sort(),
    );
    expect(on('states:ListExecutions')).toEqual(
      regions.map((r) => `arn:aws:states:${r}:${prod.account}:stateMachine:multiactive-prod-Repair`).sort(),
    );
    expect(on('sqs:GetQueueAttributes')).toEqual(
      regions.map((r) => `arn:aws:sqs:${r}:${prod.account}:multiactive-prod-*`).sort(),
    );
    expect(on('cloudwatch:DescribeAlarms')).toHaveLength(regions.length);
    // Nothing that writes: the evaluation changes nothing it reads.
    expect(actionsOf(statements).filter((a) => /:(Put|Update|Delete|Start|Send)/.test(a))).toEqual([
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });
});
