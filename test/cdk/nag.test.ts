import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { parseTopology } from '../../lib/config/index.ts';
import { testEnvironment, twoRegionTopology } from './support/app.ts';

type Stacks = ReturnType<typeof testEnvironment>;

/** Unacknowledged findings of both packs, as `rule: construct paths` (readable when the test fails). */
function findings(stacks: Stacks): string[] {
  const found: string[] = [];
  for (const stack of [
    ...Object.values(stacks.foundation),
    ...Object.values(stacks.regional),
    stacks.global,
  ]) {
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      for (const violation of pack.validateScope(stack).violations) {
        const paths = violation.violatingResources.map((resource) => resource.constructPath);
        found.push(`${violation.severity} ${violation.ruleName}: ${paths.join(', ')}`);
      }
    }
  }
  return found;
}

describe('cdk-nag', () => {
  let dev: Stacks;
  let pair: Stacks;
  let prod: Stacks;
  let mailed: Stacks;
  beforeAll(() => {
    dev = testEnvironment(bank.topology('dev'));
    pair = testEnvironment(twoRegionTopology());
    prod = testEnvironment(bank.topology('prod'));
    // As a team deploys it: the alarm topics get an e-mail subscription (the shipped configs have none).
    mailed = testEnvironment(
      parseTopology({ ...bank.topology('prod'), monitoring: { alarmEmail: 'oncall@acme.io' } }),
    );
  });

  it('finds nothing unacknowledged in any dev stack (AwsSolutions and Serverless packs)', () => {
    expect(findings(dev)).toEqual([]);
  });

  it('finds nothing unacknowledged with two regions, weighted routing and no automatic failover', () => {
    expect(findings(pair)).toEqual([]);
  });

  it('finds nothing unacknowledged in prod (protected tables, quorum acks)', () => {
    expect(findings(prod)).toEqual([]);
  });

  it('finds nothing unacknowledged with a retention (the archive bucket, the archiver and its schedule)', () => {
    const retained = twoRegionTopology({
      aggregates: [{ type: 'account', tier: 'core', lifecycle: { snapshotEvery: 10, retentionDays: 30 } }],
    });
    const stacks = testEnvironment(retained);
    expect(Object.values(stacks.regional).every((s) => s.archive !== undefined)).toBe(true);
    expect(findings(stacks)).toEqual([]);
  });

  it('finds nothing unacknowledged with an alarm e-mail subscribed (its undelivered notifications kept)', () => {
    expect(findings(mailed)).toEqual([]);
  });

  it('acknowledges every finding with a reason', () => {
    const reasons = [...Object.values(dev.regional), dev.global].flatMap((stack) =>
      stack.node
        .findAll()
        .flatMap((construct) => construct.node.metadata)
        .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
        .flatMap((entry) => Object.values(entry.data as Record<string, { reason?: string } | string>)),
    );
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) {
      const text = typeof reason === 'string' ? reason : reason.reason;
      expect(text?.length ?? 0).toBeGreaterThan(20);
    }
  });
});
