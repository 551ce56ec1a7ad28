import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REPLICATION_SOURCE } from '../../cdk/naming.ts';
import { withBug } from '../../lib/faults/index.ts';
import { detailTypeOf } from '../../lib/replication/entries.ts';
import { matchesPattern } from '../../lib/sandbox/eventbridge/pattern.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

/**
 * Review 2 of i15-lane (adversarial), finding 5 (deploy order). 7a2f334 made the real-time rule
 * (`ToApplier`, `anything-but` the lane's types) DependsOn the lane rule (`aggregateType: [lane types]`),
 * so CloudFormation updates the lane rule FIRST and the real-time rule after it. That order is right for a
 * type ENTERING the lane (the lane rule takes it before the real-time rule lets it go: an overlap, and the
 * applier is idempotent), but backwards for a type LEAVING the lane while the lane stays (a type moved
 * from ordinary to important, other ordinary types remain):
 *
 *   1. CloudFormation updates the lane rule: its pattern no longer lists `feed`;
 *   2. the real-time rule still has the old pattern: `anything-but [activity, feed]`;
 *   3. every `feed` event a peer publishes between 1 and the end of the real-time rule's update (seconds,
 *      longer if the stack update is slow or rolls back half-way) matches NO rule on this bus, and
 *      EventBridge drops an event no rule matches: no retry, no dead letter. It is lost to this region
 *      until a Merkle repair happens to find it.
 *
 * A static DependsOn cannot serve both directions. The test plays every order CloudFormation may use (the
 * dependency is updated before its dependent; without a dependency either order) and requires that in
 * each intermediate state an event of every type matches some rule.
 *
 * Adapted to the fix (the rules route on the tier the origin's publisher stamps in the detail-type, not on
 * type lists): an event of each type is played with the stamp of the tier before AND after the change,
 * since the origin region may be deployed before or after this one. The old routing (bug switch
 * lane-routes-by-type-list) still loses `feed` in the leaving case.
 */

type Rule = { id: string; pattern: unknown; dependsOn: string[] };

function rulesOf(template: Template): { lane: Rule; realTime: Rule } {
  const rules = Object.entries(template.findResources('AWS::Events::Rule')).map(([id, r]) => ({
    id,
    pattern: r.Properties.EventPattern as unknown,
    dependsOn: ([] as string[]).concat(r.DependsOn ?? []),
    name: JSON.stringify(r.Properties.Name ?? ''),
  }));
  const lane = rules.find((r) => r.id.includes('OrdinaryLane'));
  const realTime = rules.find((r) => r.id.includes('ToApplier'));
  if (!lane || !realTime) throw new Error(`rules not found: ${rules.map((r) => r.id).join(', ')}`);
  return { lane, realTime };
}

const event = (aggregateType: string, tier: string | undefined) => ({
  source: REPLICATION_SOURCE,
  'detail-type': detailTypeOf({ type: 'x' }, tier as 'ordinary' | undefined),
  detail: { origin: 'eu-west-2', aggregateType },
});

/** The states CloudFormation passes through from `before` to `after` (one rule updated, the other not). */
function intermediateStates(before: { lane: Rule; realTime: Rule }, after: { lane: Rule; realTime: Rule }) {
  const realTimeAfterLane = after.realTime.dependsOn.includes(after.lane.id);
  const laneAfterRealTime = after.lane.dependsOn.includes(after.realTime.id);
  const states: Array<{ label: string; patterns: unknown[] }> = [];
  // Lane rule updated first (its dependent, the real-time rule, still old).
  if (!laneAfterRealTime)
    states.push({
      label: 'lane rule updated, real-time rule old',
      patterns: [after.lane.pattern, before.realTime.pattern],
    });
  if (!realTimeAfterLane)
    states.push({
      label: 'real-time rule updated, lane rule old',
      patterns: [before.lane.pattern, after.realTime.pattern],
    });
  return states;
}

function lostTypes(
  beforeAggregates: Array<{ type: string; tier: string }>,
  afterAggregates: Array<{ type: string; tier: string }>,
): string[] {
  const region = 'eu-central-1';
  const before = rulesOf(
    templatesOf(testEnvironment(twoRegionTopology({ aggregates: beforeAggregates })))[region]!,
  );
  const after = rulesOf(
    templatesOf(testEnvironment(twoRegionTopology({ aggregates: afterAggregates })))[region]!,
  );
  const lost = new Set<string>();
  const tiers = (type: string) =>
    [...beforeAggregates, ...afterAggregates].filter((a) => a.type === type).map((a) => a.tier);
  for (const state of intermediateStates(before, after))
    for (const { type } of afterAggregates)
      for (const tier of tiers(type))
        if (!state.patterns.some((p) => matchesPattern(p, event(type, tier))))
          lost.add(`${type} (${state.label})`);
  return [...lost];
}

const leaving = (): string[] =>
  lostTypes(
    [
      { type: 'account', tier: 'core' },
      { type: 'activity', tier: 'ordinary' },
      { type: 'feed', tier: 'ordinary' },
    ],
    [
      { type: 'account', tier: 'core' },
      { type: 'activity', tier: 'ordinary' },
      { type: 'feed', tier: 'important' },
    ],
  );

describe('review 2 of i15-lane: rule updates never leave a replicated type matching no rule', {
  timeout: 180_000,
}, () => {
  it('a type entering the lane (important -> ordinary, the lane already on) is matched throughout', () => {
    expect(
      lostTypes(
        [
          { type: 'account', tier: 'core' },
          { type: 'activity', tier: 'ordinary' },
          { type: 'feed', tier: 'important' },
        ],
        [
          { type: 'account', tier: 'core' },
          { type: 'activity', tier: 'ordinary' },
          { type: 'feed', tier: 'ordinary' },
        ],
      ),
    ).toEqual([]);
  });

  it('a type LEAVING the lane (ordinary -> important, the lane stays on) is matched throughout', () => {
    // Failed on i15-lane: ["feed (lane rule updated, real-time rule old)"]: feed events are dropped by
    // EventBridge while the real-time rule waits for the lane rule's update (DependsOn).
    expect(leaving()).toEqual([]);
  });

  it('is caught when the rules route on type lists (bug switch lane-routes-by-type-list)', async () => {
    expect(await withBug('lane-routes-by-type-list', async () => leaving())).toEqual([
      'feed (lane rule updated, real-time rule old)',
    ]);
  });

  it('turning the lane on, then draining it, leaves no type matching no rule', () => {
    const types = [
      { type: 'account', tier: 'core' },
      { type: 'activity', tier: 'ordinary' },
    ];
    const region = 'eu-central-1';
    const rulesFor = (ordinaryLane: Record<string, unknown>) =>
      Object.entries(
        templatesOf(testEnvironment(twoRegionTopology({ aggregates: types, ordinaryLane })))[
          region
        ]!.findResources('AWS::Events::Rule'),
      ).map(([id, r]) => ({
        id,
        pattern: r.Properties.EventPattern as unknown,
        dependsOn: ([] as string[]).concat(r.DependsOn ?? []),
      }));
    const off = rulesFor({ enabled: false });
    const on = rulesFor({});
    const draining = rulesFor({ draining: true });
    const realTime = (rules: typeof on) => rules.find((r) => r.id.includes('ToApplier'))!;
    const lane = on.find((r) => r.id.includes('OrdinaryLane'))!;
    // Off -> on: the lane rule is created before the real-time rule narrows (DependsOn).
    expect(realTime(on).dependsOn).toContain(lane.id);
    // On -> draining: the real-time rule widens first; the lane rule is deleted in the cleanup phase.
    expect(draining.some((r) => r.id.includes('OrdinaryLane'))).toBe(false);
    const states = [
      [lane.pattern, realTime(off).pattern],
      [lane.pattern, realTime(on).pattern],
      [lane.pattern, realTime(draining).pattern],
      [realTime(draining).pattern],
    ];
    for (const patterns of states)
      for (const tier of ['ordinary', 'important', undefined])
        expect(patterns.some((p) => matchesPattern(p, event('activity', tier)))).toBe(true);
  });
});
