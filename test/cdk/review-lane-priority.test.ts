import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { regionNames } from '../../lib/config/index.ts';
import { shippedTemplatesOf } from './support/app.ts';

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

beforeAll(async () => {
  templates = await shippedTemplatesOf('dev');
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

/**
 * Interleaving (a deployment): the first deploy with the lane on, `ordinaryLane.enabled` switched to true,
 * or a new ordinary type added to `aggregates[]`. CloudFormation updates the real-time rule (now
 * excluding the ordinary types) and creates or updates the lane rule in parallel: nothing orders them,
 * and the lane rule waits for its queue (an SQS queue takes CloudFormation about a minute to create) while
 * the real-time rule's UpdateRule takes seconds. In between, an ordinary event from a peer matches NEITHER
 * rule on this region's bus, and EventBridge discards an event no rule matches: no retry, no dead letter,
 * nothing quarantined, the watermark moves on with the next heartbeat; only a later Repair pass restores
 * it. (The lane rule itself may deliver before its queue policy exists, which names the rule's ARN: those
 * deliveries are denied and retried, not lost.) The real-time rule should narrow only once the lane rule
 * is in place, i.e. depend on it (the reverse order is needed when a type leaves
 * the lane: widen first, shrink the lane rule after; CloudFormation deletes a removed lane rule only in its
 * cleanup phase, after the updates, which is the safe order for `enabled: false`).
 */
describe.each(regionNames(dev))('review of i15-lane: deploying the lane in %s', (region) => {
  it('narrows the real-time rule only after the lane rule exists', () => {
    const t = templates[region]!;
    const rules = t.findResources('AWS::Events::Rule');
    const idOf = (name: string) =>
      Object.entries(rules).find(([, r]) => r.Properties.Name === name)?.[0] as string;
    const apply = rules[idOf('multiactive-dev-apply')];
    const laneId = idOf('multiactive-dev-ordinary-lane');
    expect(laneId).toBeDefined();
    expect(apply?.DependsOn ?? []).toContain(laneId);
  });
});
