import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

describe('RegionalStack with two regions (eu-central-1, eu-west-2)', () => {
  let templates: Record<string, Template>;
  beforeAll(() => {
    templates = templatesOf(testEnvironment(twoRegionTopology({ tables: { deletionProtection: true } })));
  });

  it.each([
    ['eu-central-1', 'eu-west-2'],
    ['eu-west-2', 'eu-central-1'],
  ])('%s forwards its own events to %s only, and applies the rest', (region, peer) => {
    const template = templates[region]!;
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
    const forwarding = rules.filter((rule) => String(rule.Name ?? '').startsWith('multiactive-pair-to-'));
    expect(forwarding.map((rule) => rule.Name)).toEqual([`multiactive-pair-to-${peer}`]);
    expect(forwarding[0]!.EventPattern).toEqual({
      source: ['multiactive.replication'],
      detail: { origin: [region] },
    });
    expect(forwarding[0]!.Targets[0].Arn).toBe(
      `arn:aws:events:${peer}:333333333333:event-bus/multiactive-pair-bus`,
    );
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'multiactive-pair-apply',
      EventPattern: { source: ['multiactive.replication'], detail: { origin: [{ 'anything-but': region }] } },
    });
  });

  it.each([
    ['eu-central-1', 'eu-west-2'],
    ['eu-west-2', 'eu-central-1'],
  ])(
    'the bus of %s admits only the forwarding role of %s and the functions that publish (no health roles when autoFailover is off)',
    (region, peer) => {
      const role = (name: string) => `arn:aws:iam::333333333333:role/multiactive-pair-${name}`;
      templates[`${region}-foundation`]!.hasResourceProperties('AWS::Events::EventBus', {
        Name: 'multiactive-pair-bus',
        Policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyReplicationWriters',
              Effect: 'Deny',
              Action: 'events:PutEvents',
              Principal: { AWS: '*' },
              Resource: `arn:aws:events:${region}:333333333333:event-bus/multiactive-pair-bus`,
              Condition: {
                ArnNotEquals: {
                  'aws:PrincipalArn': [
                    role(`${region}-applier`),
                    role(`${region}-publisher`),
                    ...[region, peer].sort().map((r) => role(`${r}-runbook`)),
                    role(`${peer}-to-${region}`),
                  ].sort(),
                },
              },
            },
          ],
        },
      });
    },
  );

  it('protects and retains tables when the configuration asks for it', () => {
    const tables = templates['eu-central-1']!.findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables)) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  it('alarms on lag from the one peer', () => {
    templates['eu-west-2']!.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ReplicationLagMs' },
      1,
    );
  });

  it('still deploys all five runbooks in each region', () => {
    for (const region of ['eu-central-1', 'eu-west-2']) {
      const machines = templates[region]!.findResources('AWS::StepFunctions::StateMachine');
      expect(
        Object.values(machines)
          .map((m) => m.Properties.StateMachineName)
          .sort(),
      ).toEqual([
        'multiactive-pair-Failback',
        'multiactive-pair-Failover',
        'multiactive-pair-Repair',
        'multiactive-pair-ResolveConflict',
        'multiactive-pair-Switchover',
      ]);
    }
  });
});
