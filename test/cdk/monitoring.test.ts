import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { parseTopology } from '../../lib/config/index.ts';
import type { CfnResource, CfnTemplate } from '../../lib/sandbox/cdk/templates.ts';
import { shippedTemplates, synthesizeEnvironment } from '../support/templates.ts';

type Resources = Record<string, CfnResource>;
const ofType = (template: CfnTemplate, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type) as Array<[string, CfnResource]>;

interface AlarmProps {
  AlarmName: string;
  MetricName?: string;
  Namespace?: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Metrics?: Array<{
    MetricStat?: { Metric: { MetricName: string; Dimensions?: Array<{ Name: string; Value: unknown }> } };
  }>;
  AlarmActions?: unknown[];
}
const alarmsOf = (template: CfnTemplate) =>
  ofType(template, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as unknown as AlarmProps);
/** Every metric an alarm watches (single metric or the metrics of its math expression). */
const watched = (alarm: AlarmProps) =>
  alarm.MetricName
    ? [{ MetricName: alarm.MetricName, Dimensions: alarm.Dimensions ?? [] }]
    : (alarm.Metrics ?? []).flatMap((m) =>
        m.MetricStat ? [{ ...m.MetricStat.Metric, Dimensions: m.MetricStat.Metric.Dimensions ?? [] }] : [],
      );
const ref = (id: string) => ({ Ref: id });

let dev: Record<string, CfnTemplate>;
let prod: Record<string, CfnTemplate>;
let mailed: Record<string, CfnTemplate>;
beforeAll(async () => {
  dev = (await shippedTemplates('dev')).templates;
  prod = (await shippedTemplates('prod')).templates;
  mailed = synthesizeEnvironment(
    parseTopology({ ...bank.topology('dev'), monitoring: { alarmEmail: 'oncall@acme.io' } }),
  ).templates;
}, 180_000);

/**
 * Whether an alarm watches the queue: its visible messages, or for applier-failures (redriven: its records
 * are mostly in flight, invisible) its messages in flight as well.
 */
function queueWatched(template: CfnTemplate, id: string, queue: { Properties?: unknown }): boolean {
  const name = String((queue.Properties as { QueueName?: unknown } | undefined)?.QueueName);
  const metrics = name.endsWith('-applier-failures')
    ? ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible']
    : ['ApproximateNumberOfMessagesVisible'];
  return alarmsOf(template).some((alarm) =>
    metrics.every((metric) =>
      watched(alarm).some((m) => m.MetricName === metric && JSON.stringify(m.Dimensions).includes(`"${id}"`)),
    ),
  );
}

describe('alarms', () => {
  it("watches every queue of every stack (dead letters, the repair schedule's included)", () => {
    let queues = 0;
    for (const [stack, template] of Object.entries(dev)) {
      for (const [id, queue] of ofType(template, 'AWS::SQS::Queue')) {
        queues++;
        expect(queueWatched(template, id, queue), `${stack}/${id}`).toBe(true);
      }
    }
    // publisher, applier and its dead letters, apply, forward, the ordinary lane and its dead letters per
    // cell (21), repair schedule (1); failure detection (the watchdogs) forwards nothing between regions.
    expect(queues).toBe(22);
  });

  it('keeps and watches the alarm notifications an e-mail subscription could not take', () => {
    for (const [stack, template] of Object.entries(mailed)) {
      const subscriptions = ofType(template, 'AWS::SNS::Subscription');
      for (const [id, subscription] of subscriptions) {
        const redrive = (subscription.Properties as { RedrivePolicy?: { deadLetterTargetArn: unknown } })
          .RedrivePolicy;
        expect(redrive, `${stack}/${id}`).toBeDefined();
      }
      for (const [id, queue] of ofType(template, 'AWS::SQS::Queue'))
        expect(queueWatched(template, id, queue), `${stack}/${id}`).toBe(true);
    }
    const subscribed = Object.values(mailed).flatMap((t) => ofType(t, 'AWS::SNS::Subscription'));
    expect(subscribed.length).toBeGreaterThanOrEqual(4); // every cell's topic and the GTM's
  });

  it('covers every function (errors, throttles), every state machine (failed or timed out), every table (throttles), the stream', () => {
    const cell = dev['multiactive-dev-eu-west-1']!;
    const alarms = alarmsOf(cell);
    for (const [id] of ofType(cell, 'AWS::Lambda::Function')) {
      for (const metric of ['Errors', 'Throttles'])
        expect(
          alarms.some((a) =>
            watched(a).some((m) => m.MetricName === metric && JSON.stringify(m.Dimensions).includes(id)),
          ),
          `${metric} ${id}`,
        ).toBe(true);
    }
    for (const [id] of ofType(cell, 'AWS::StepFunctions::StateMachine')) {
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut'])
        expect(
          alarms.some((a) =>
            watched(a).some((m) => m.MetricName === metric && JSON.stringify(m.Dimensions).includes(id)),
          ),
          `${metric} ${id}`,
        ).toBe(true);
    }
    for (const [id] of ofType(cell, 'AWS::DynamoDB::Table')) {
      for (const metric of ['ReadThrottleEvents', 'WriteThrottleEvents'])
        expect(
          alarms.some((a) =>
            watched(a).some((m) => m.MetricName === metric && JSON.stringify(m.Dimensions).includes(id)),
          ),
          `${metric} ${id}`,
        ).toBe(true);
    }
    expect(alarms.some((a) => watched(a).some((m) => m.MetricName === 'IteratorAge'))).toBe(true);
  });

  it('notifies an encrypted topic that CloudWatch may publish to, with the key letting it encrypt', () => {
    for (const [stack, template] of Object.entries(dev)) {
      const topics = ofType(template, 'AWS::SNS::Topic');
      if (stack.endsWith('-foundation')) continue;
      expect(topics, stack).toHaveLength(1);
      const [topicId, topic] = topics[0]!;
      const keyId = (topic.Properties!.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const keyPolicy = JSON.stringify((template.Resources as Resources)[keyId]!.Properties?.KeyPolicy);
      expect(keyPolicy).toContain('cloudwatch.amazonaws.com');
      expect(keyPolicy).toContain('kms:GenerateDataKey*');
      const [, policy] = ofType(template, 'AWS::SNS::TopicPolicy')[0]!;
      const statements = (policy.Properties!.PolicyDocument as { Statement: Array<Record<string, unknown>> })
        .Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: ref(topicId),
        }),
      );
      for (const alarm of alarmsOf(template))
        expect(alarm.AlarmActions, alarm.AlarmName).toEqual([ref(topicId)]);
    }
  });

  it('subscribes monitoring.alarmEmail to every alarm topic, and nobody without it', () => {
    const subscriptions = (templates: Record<string, CfnTemplate>) =>
      Object.values(templates).flatMap((t) =>
        ofType(t, 'AWS::SNS::Subscription').map(([, r]) => r.Properties),
      );
    expect(subscriptions(dev)).toEqual([]);
    expect(subscriptions(mailed)).toHaveLength(4);
    for (const subscription of subscriptions(mailed))
      expect(subscription).toMatchObject({ Protocol: 'email', Endpoint: 'oncall@acme.io' });
  });
});

describe('dashboards', () => {
  const body = (template: CfnTemplate) =>
    ofType(template, 'AWS::CloudWatch::Dashboard').map(([, r]) => ({
      name: r.Properties?.DashboardName,
      body: JSON.stringify(r.Properties?.DashboardBody),
    }));

  it('draws one dashboard per cell', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      const [dashboard] = body(dev[`multiactive-dev-${region}`]!);
      expect(dashboard?.name).toBe(`multiactive-dev-${region}`);
      for (const metric of [
        'ReplicationLagMs',
        'IteratorAge',
        'ConflictsDetected',
        'ApproximateNumberOfMessagesVisible',
        'ExecutionsFailed',
        'Throttles',
      ])
        expect(dashboard?.body, metric).toContain(metric);
    }
  });

  it('draws a global dashboard: lag per link, RTO drills, conflicts and the dead letters of every region', () => {
    const [dashboard] = body(dev['multiactive-dev-global']!);
    expect(dashboard?.name).toBe('multiactive-dev-global');
    for (const [from, to] of [
      ['us-east-1', 'eu-west-1'],
      ['eu-west-1', 'ap-southeast-1'],
      ['ap-southeast-1', 'us-east-1'],
    ])
      expect(dashboard?.body).toContain(`${from} -> ${to}`);
    expect(dashboard?.body).toContain('stateMachine:multiactive-dev-Failover');
    expect(dashboard?.body).toContain('ConflictsDetected');
    for (const queue of ['apply-dead-letters', 'forward-dead-letters', 'repair-schedule-dead-letters'])
      expect(dashboard?.body).toContain(`multiactive-dev-${queue}`);
  });
});

describe('runbook logs', () => {
  it('keep execution data out of prod logs', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      for (const [, machine] of ofType(
        prod[`multiactive-prod-${region}`]!,
        'AWS::StepFunctions::StateMachine',
      ))
        expect(machine.Properties?.LoggingConfiguration).toMatchObject({
          Level: 'ALL',
          IncludeExecutionData: false,
        });
    }
  });
});
