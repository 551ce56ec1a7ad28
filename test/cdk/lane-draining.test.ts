import { describe, expect, it } from 'vitest';
import { withBug } from '../../lib/faults/index.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

/**
 * Turning the ordinary lane off without losing what it holds: `draining` removes the lane rule (ordinary
 * events back on the real-time path) and keeps the queue, its dead letters and the mapping that empties
 * it; the queues are retained whatever the deploy does to them.
 */
const aggregates = [
  { type: 'account', tier: 'core' },
  { type: 'activity', tier: 'ordinary' },
];
const cell = (ordinaryLane: Record<string, unknown>, types = aggregates) =>
  templatesOf(testEnvironment(twoRegionTopology({ aggregates: types, ordinaryLane })))['eu-central-1']!;

const laneResources = (template: ReturnType<typeof cell>) => ({
  queues: Object.keys(template.findResources('AWS::SQS::Queue')).filter((id) => id.includes('OrdinaryLane')),
  rules: Object.keys(template.findResources('AWS::Events::Rule')).filter((id) => id.includes('OrdinaryLane')),
  mappings: Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter((m) =>
    JSON.stringify(m.Properties.EventSourceArn).includes('OrdinaryLane'),
  ).length,
});

describe('ordinary lane: draining', () => {
  it('keeps the queue, the dead letters and the mapping, without the lane rule', { timeout: 180_000 }, () => {
    const template = cell({ draining: true });
    expect(laneResources(template)).toEqual({
      queues: [expect.stringContaining('OrdinaryLane'), expect.stringContaining('OrdinaryLane')],
      rules: [],
      mappings: 1,
    });
    // The real-time rule takes every replicated event again.
    const realTime = Object.entries(template.findResources('AWS::Events::Rule')).find(([id]) =>
      id.includes('ToApplier'),
    )![1];
    expect(JSON.stringify(realTime.Properties.EventPattern)).not.toContain('ordinary');
  });

  it('keeps draining after the last ordinary type has moved to another tier', { timeout: 180_000 }, () => {
    const template = cell({ draining: true }, [
      { type: 'account', tier: 'core' },
      { type: 'activity', tier: 'important' },
    ]);
    expect(laneResources(template).mappings).toBe(1);
  });

  it('is caught when the queues keep the default removal policy (bug switch lane-queues-deleted)', {
    timeout: 180_000,
  }, async () => {
    const policies = (template: ReturnType<typeof cell>) =>
      Object.entries(template.findResources('AWS::SQS::Queue'))
        .filter(([id]) => id.includes('OrdinaryLane'))
        .map(([, q]) => [q.DeletionPolicy, q.UpdateReplacePolicy]);
    expect(policies(cell({}))).toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
    const broken = await withBug('lane-queues-deleted', async () => policies(cell({})));
    expect(broken).not.toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
  });
});
