import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { stateMachineArn } from '../../cdk/naming.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { ConfigError, parseTopology, type Topology } from '../../lib/config/index.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

const dev = bank.topology('dev');

function findings(stacks: ReturnType<typeof testEnvironment>): string[] {
  return Object.values(stacks.regional).flatMap((stack) =>
    [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
        ),
    ),
  );
}

function schedulesOf(template: Template) {
  return Object.values(template.findResources('AWS::Scheduler::Schedule'));
}

describe('nightly Repair schedule', () => {
  let templates: Record<string, Template>;
  let moved: Record<string, Template>;
  let stacks: ReturnType<typeof testEnvironment>;
  beforeAll(() => {
    stacks = testEnvironment(dev);
    templates = templatesOf(stacks);
    const elsewhere: Topology = parseTopology({
      ...dev,
      repair: { schedule: '22:05', scheduleRegion: 'eu-west-1' },
    });
    moved = templatesOf(testEnvironment(elsewhere));
  });

  it('starts the Repair state machine daily at 03:30 UTC with the documented input {}', () => {
    const [schedule, ...others] = schedulesOf(templates['us-east-1']!);
    expect(others).toEqual([]);
    expect(schedule?.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 3 * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Input: '{}',
        RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: expect.anything() },
      },
    });
    const target = templates['us-east-1']!;
    const machine = Object.entries(target.findResources('AWS::StepFunctions::StateMachine')).find(
      ([, m]) => m.Properties.StateMachineName === 'multiactive-dev-Repair',
    );
    expect(schedule?.Properties.Target.Arn).toEqual({ Ref: machine![0] });
    expect(stateMachineArn(dev, 'us-east-1', 'Repair')).toContain(':stateMachine:multiactive-dev-Repair');
  });

  it('lets its role start only the Repair machine, assumed only by EventBridge Scheduler', () => {
    const template = templates['us-east-1']!;
    const schedule = schedulesOf(template)[0]!;
    const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    const role = template.findResources('AWS::IAM::Role')[roleId];
    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
      }),
    ]);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const repairRef = schedule.Properties.Target.Arn;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'states:StartExecution', Resource: repairRef }),
      ]),
    );
    for (const statement of statements) {
      expect(statement.Resource).not.toBe('*');
      expect(['states:StartExecution', 'sqs:SendMessage']).toContain(statement.Action);
    }
  });

  it('is deployed in one region only, and follows repair.schedule and repair.scheduleRegion', () => {
    expect(schedulesOf(templates['eu-west-1']!)).toEqual([]);
    expect(schedulesOf(templates['ap-southeast-1']!)).toEqual([]);
    expect(schedulesOf(moved['us-east-1']!)).toEqual([]);
    moved['eu-west-1']!.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(5 22 * * ? *)',
      Target: Match.objectLike({ Input: '{}' }),
    });
  });

  it('deploys none with repair.schedule null', () => {
    const none = templatesOf(testEnvironment(twoRegionTopology({ repair: { schedule: null } })));
    expect(Object.values(none).flatMap(schedulesOf)).toEqual([]);
  });

  it('leaves no cdk-nag finding unacknowledged', () => {
    expect(findings(stacks)).toEqual([]);
  });

  it('rejects a malformed time or an unknown region in the config', () => {
    expect(() => parseTopology({ ...dev, repair: { schedule: '3:30' } })).toThrow(ConfigError);
    expect(() => parseTopology({ ...dev, repair: { schedule: '24:00' } })).toThrow(/HH:MM/);
    expect(() => parseTopology({ ...dev, repair: { scheduleRegion: 'sa-east-1' } })).toThrow(
      /repair\.scheduleRegion/,
    );
  });
});
