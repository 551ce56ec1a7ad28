import { App, type Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { unbundledContext } from '../../cdk/app-context.ts';
import { SAMPLE_PARAMETER_ID, SAMPLE_RULE_ID } from '../../cdk/constructs/sample-guard.ts';
import { createEnvironment, type EnvironmentStacks } from '../../cdk/stacks/environment.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { parseTopology, type Topology } from '../../lib/config/index.ts';
import type { CfnTemplate } from '../../lib/sandbox/cdk/templates.ts';

interface Synthesized {
  readonly stacks: EnvironmentStacks;
  readonly templates: Record<string, CfnTemplate>;
  /** Stack name -> every stack it depends on, transitively (what `cdk deploy --all` deploys first). */
  readonly before: Record<string, Set<string>>;
}

function synthesize(topology: Topology): Synthesized {
  const app = new App({ context: unbundledContext() });
  const stacks = createEnvironment(app, topology);
  const assembly = app.synth();
  const all: Stack[] = [
    ...Object.values(stacks.foundation),
    ...Object.values(stacks.regional),
    stacks.global,
  ];
  const templates = Object.fromEntries(
    all.map((s) => [s.stackName, assembly.getStackByName(s.stackName).template as CfnTemplate]),
  );
  const names = new Set(all.map((s) => s.stackName));
  // Artifacts depend on their asset manifests too (`<stack>.assets`); keep the stacks.
  const direct = Object.fromEntries(
    all.map((s) => [
      s.stackName,
      assembly
        .getStackByName(s.stackName)
        .dependencies.map((d) => d.id)
        .filter((id) => names.has(id)),
    ]),
  );
  const closure = (name: string, seen = new Set<string>()): Set<string> => {
    for (const dep of direct[name] ?? []) if (!seen.has(dep)) closure(dep, seen.add(dep));
    return seen;
  };
  return {
    stacks,
    templates,
    before: Object.fromEntries(all.map((s) => [s.stackName, closure(s.stackName)])),
  };
}

/** A topology with nothing left to configure: a real-looking account, zone and names. */
const configured = (): Topology =>
  parseTopology({
    ...bank.topology('prod'),
    name: 'shop',
    account: '210987654321',
    gtm: {
      policy: 'latency',
      domainName: 'api.shop.acme.io',
      hostedZoneId: 'Z08123456ABCDEFGHIJK',
      hostedZoneName: 'shop.acme.io',
    },
    monitoring: { alarmEmail: 'oncall@acme.io' },
  });

describe('a first deploy (stack order and sample refusal)', () => {
  let dev: Synthesized;
  let shop: Synthesized;
  beforeAll(() => {
    dev = synthesize(bank.topology('dev'));
    shop = synthesize(configured());
  }, 120_000);

  it('deploys every bus before any rule that targets it or lives on it', () => {
    const busStack = (arn: string) => {
      const region = arn.split(':')[3];
      return `multiactive-dev-${region}-foundation`;
    };
    let checked = 0;
    for (const [stack, template] of Object.entries(dev.templates)) {
      for (const resource of Object.values(template.Resources)) {
        if (resource.Type !== 'AWS::Events::Rule') continue;
        const props = resource.Properties as { EventBusName?: string; Targets?: Array<{ Arn: unknown }> };
        const region = stack.replace(/^multiactive-dev-/, '').replace(/-foundation$/, '');
        if (props.EventBusName === 'multiactive-dev-bus') {
          expect(dev.before[stack], `${stack} before its own bus`).toContain(
            `multiactive-dev-${region}-foundation`,
          );
          checked++;
        }
        for (const target of props.Targets ?? []) {
          if (typeof target.Arn !== 'string' || !target.Arn.includes(':event-bus/')) continue;
          expect(dev.before[stack], `${stack} targets ${target.Arn}`).toContain(busStack(target.Arn));
          checked++;
        }
      }
    }
    // Forwarding rules (6), apply rules (3), failover triggers (3), global health rules (3) at least.
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('orders foundations, then cells, then the global stack', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      expect(dev.before[`multiactive-dev-${region}-foundation`]).toEqual(new Set());
      expect([...dev.before[`multiactive-dev-${region}`]!].sort()).toEqual([
        'multiactive-dev-ap-southeast-1-foundation',
        'multiactive-dev-eu-west-1-foundation',
        'multiactive-dev-us-east-1-foundation',
      ]);
      expect(dev.before['multiactive-dev-global']).toContain(`multiactive-dev-${region}`);
    }
  });

  it('lets a sample configuration synthesize with warnings, and makes every stack refuse to deploy it', () => {
    const warnings = Annotations.fromStack(dev.stacks.global).findWarning(
      '*',
      Match.stringLikeRegexp('environments\\.dev\\..* \\(application config\\): .*cdk deploy refuses'),
    );
    expect(warnings.map((w) => String(w.entry.data))).toEqual([
      expect.stringContaining(
        'environments.dev.account (application config): account 111111111111 is a sample id',
      ),
      expect.stringContaining(
        'environments.dev.gtm.hostedZoneId (application config): hosted zone Z0DEVMULTIACTIVE00001',
      ),
      expect.stringContaining(
        'environments.dev.gtm.domainName (application config): api.dev.multiactive.example.com is under a reserved name',
      ),
    ]);
    for (const [name, template] of Object.entries(dev.templates)) {
      const t = template as CfnTemplate & {
        Rules?: Record<string, { Assertions: Array<{ Assert: unknown; AssertDescription: string }> }>;
        Parameters?: Record<string, { Default?: string }>;
      };
      expect(t.Parameters?.[SAMPLE_PARAMETER_ID]?.Default, name).toBe(
        'account,gtm.hostedZoneId,gtm.domainName',
      );
      const [assertion] = t.Rules?.[SAMPLE_RULE_ID]?.Assertions ?? [];
      // CloudFormation evaluates the rule before touching any resource: the default is not empty, so it fails.
      expect(assertion?.Assert).toEqual({ 'Fn::Equals': [{ Ref: SAMPLE_PARAMETER_ID }, ''] });
      expect(assertion?.AssertDescription).toContain(
        'environments.dev of the application config still holds samples',
      );
      expect(assertion?.AssertDescription).toContain('set the id and name of a public Route 53 zone you own');
    }
  });

  it('adds no refusal and no warning once the account, zone, names and e-mail are real', () => {
    for (const template of Object.values(shop.templates)) {
      const t = template as { Rules?: Record<string, unknown>; Parameters?: Record<string, unknown> };
      expect(t.Rules?.[SAMPLE_RULE_ID]).toBeUndefined();
      expect(t.Parameters?.[SAMPLE_PARAMETER_ID]).toBeUndefined();
    }
    const warnings = Annotations.fromStack(shop.stacks.global).findWarning(
      '*',
      Match.stringLikeRegexp('sample'),
    );
    expect(warnings).toEqual([]);
  });
});
