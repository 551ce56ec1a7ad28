import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { regionNames } from '../../lib/config/index.ts';
import { templatesOf, testEnvironment } from './support/app.ts';

/**
 * Review of i15-lane (adversarial): DESIGN.md's tier table gives the ordinary lane the "lowest priority
 * under backlog". The lane's SQS event source mapping invokes the SAME applier function that the real-time
 * rule invokes for core and important events, and it sets no `ScalingConfig.MaximumConcurrency`: Lambda
 * scales SQS pollers up to 1,250 concurrent invocations for a deep queue (a returning region's backlog,
 * 100,000 queued ordinary events), i.e. past the account's regional concurrency (1,000 by default). The
 * ordinary backlog then takes every execution slot: the real-time applier's core/important deliveries are
 * throttled (EventBridge retries them with back-off, lag grows, the sync breakers open), and so are the
 * API and runbook functions, which have no reserved concurrency either. Ordinary ends up with the
 * HIGHEST priority under backlog. A cap (ScalingConfig.MaximumConcurrency, 2-1,000) bounds the lane.
 */
const dev = bank.topology('dev');
let templates: Record<string, Template>;

beforeAll(() => {
  templates = templatesOf(testEnvironment(dev));
});

describe.each(regionNames(dev))('review of i15-lane: the ordinary lane in %s', (region) => {
  it('caps the concurrency of its SQS mapping so an ordinary backlog cannot starve the real-time applier', () => {
    const t = templates[region]!;
    const queues = t.findResources('AWS::SQS::Queue', {
      Properties: { QueueName: 'multiactive-dev-ordinary-lane' },
    });
    const queueId = Object.keys(queues)[0];
    expect(queueId).toBeDefined();
    const mappings = t.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
    const [mapping] = Object.values(mappings);
    expect(mapping).toBeDefined();
    expect(mapping?.Properties).toMatchObject({
      ScalingConfig: { MaximumConcurrency: expect.any(Number) },
    });
  });
});
