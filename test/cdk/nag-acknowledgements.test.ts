import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it, vi } from 'vitest';
import bank from '../../examples/bank/multiactive.config.ts';
import { testEnvironment } from './support/app.ts';

const switches = vi.hoisted(() => ({ acknowledging: true }));
vi.mock('../../cdk/constructs/nag.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../cdk/constructs/nag.ts')>();
  return {
    ...original,
    acknowledge: (...args: Parameters<typeof original.acknowledge>) => {
      if (switches.acknowledging) original.acknowledge(...args);
    },
  };
});

type Stacks = ReturnType<typeof testEnvironment>;
const allStacks = (s: Stacks) => [...Object.values(s.foundation), ...Object.values(s.regional), s.global];

describe('cdk-nag acknowledgements', () => {
  it('each silences a finding that exists: none is left over from code that changed', () => {
    switches.acknowledging = true;
    const acked = testEnvironment(bank.topology('dev'));
    const acknowledgements = allStacks(acked).flatMap((stack) =>
      stack.node.findAll().flatMap((construct) =>
        construct.node.metadata
          .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
          .flatMap((m) =>
            Object.keys(m.data as object).map((key) => ({
              path: construct.node.path,
              id: key.replace(/^Annotation::/, ''),
            })),
          ),
      ),
    );
    switches.acknowledging = false;
    const raw = testEnvironment(bank.topology('dev'));
    const findings = allStacks(raw).flatMap((stack) =>
      [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
        pack.validateScope(stack).violations.flatMap((v) =>
          v.violatingResources.map((r) => ({
            id: String((r as { findingId?: string }).findingId ?? v.ruleName),
            rule: v.ruleName,
            path: r.constructPath,
          })),
        ),
      ),
    );
    switches.acknowledging = true;
    expect(acknowledgements.length).toBeGreaterThan(0);
    const unused = acknowledgements.filter(
      (ack) =>
        !findings.some(
          (f) => (f.path ?? '').startsWith(`${ack.path}/`) && (f.id === ack.id || f.rule === ack.id),
        ),
    );
    expect(unused, JSON.stringify(findings.slice(0, 5))).toEqual([]);
  });
});
