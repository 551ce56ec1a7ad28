import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

const dev = bank.topology('dev');

describe('GlobalStack (dev: latency routing, automatic failover)', () => {
  let stacks: ReturnType<typeof testEnvironment>;
  let template: Template;
  beforeAll(() => {
    stacks = testEnvironment(dev);
    template = templatesOf(stacks).global!;
  });

  it('lives in us-east-1, where Route 53 publishes health-check metrics', () => {
    expect(stacks.global.region).toBe('us-east-1');
    expect(stacks.global.account).toBe('111111111111');
  });

  it('health-checks every region on https://<region>.<zone>/health with the configured settings', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 3);
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: Match.objectLike({
          Type: 'HTTPS',
          FullyQualifiedDomainName: `${region}.dev.multiactive.example.com`,
          Port: 443,
          ResourcePath: '/health',
          RequestInterval: 10,
          FailureThreshold: 3,
          EnableSNI: true,
        }),
      });
    }
  });

  it('publishes one latency record per region for the API name, each bound to its health check', () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 3);
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: 'api.dev.multiactive.example.com.',
        Type: 'CNAME',
        HostedZoneId: 'Z0DEVMULTIACTIVE00001',
        Region: region,
        SetIdentifier: region,
        TTL: '15',
        ResourceRecords: [`${region}.dev.multiactive.example.com`],
        HealthCheckId: { Ref: Match.stringLikeRegexp(`Health${region.replaceAll('-', '')}`) },
      });
    }
  });

  it('alarms on each health check by a deterministic name', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `multiactive-dev-health-${region}`,
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
      });
    }
  });

  it("starts nothing from an alarm: failover is the regions' watchdogs' decision", () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
  });
});

describe('GlobalStack (two regions: weighted routing, automatic failover off)', () => {
  let template: Template;
  beforeAll(() => {
    template = templatesOf(testEnvironment(twoRegionTopology())).global!;
  });

  it('publishes weighted records with the configured weights', () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'api.pair.example.org.',
      SetIdentifier: 'eu-central-1',
      Weight: 3,
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', { SetIdentifier: 'eu-west-2', Weight: 1 });
  });

  it('checks health every 30 s with a failure threshold of 2', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 2);
    template.allResourcesProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: Match.objectLike({ RequestInterval: 30, FailureThreshold: 2 }),
    });
  });

  it('only notifies: no rule starts a failover', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
    });
  });
});
