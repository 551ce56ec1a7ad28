import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { unbundledContext } from '../../../cdk/app-context.ts';
import { foundationStackName, globalStackName, regionalStackName } from '../../../cdk/naming.ts';
import { createEnvironment, type EnvironmentStacks } from '../../../cdk/stacks/environment.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology, regionNames, type Topology } from '../../../lib/config/index.ts';
import { shippedTemplates } from '../../support/templates.ts';

/** An app that skips esbuild bundling (Template.fromStack would otherwise bundle every function). */
export function testEnvironment(topology: Topology): EnvironmentStacks {
  const app = new App({ context: unbundledContext() });
  return createEnvironment(app, topology);
}

/**
 * Templates of every stack, synthesized once, keyed by region for the cells, `<region>-foundation` for
 * the foundations (the buses) and `global` for the global stack.
 */
export function templatesOf(stacks: EnvironmentStacks): Record<string, Template> {
  const templates: Record<string, Template> = {};
  for (const [region, stack] of Object.entries(stacks.regional))
    templates[region] = Template.fromStack(stack);
  for (const [region, stack] of Object.entries(stacks.foundation))
    templates[`${region}-foundation`] = Template.fromStack(stack);
  templates.global = Template.fromStack(stacks.global);
  return templates;
}

/**
 * The example bank's templates of `env`, keyed as `templatesOf` keys them, from the synthesis every test
 * file and the sandbox share (test/support/templates.ts `shippedTemplates`: synthesized once per change of
 * any source the stacks import, cached in .sandbox/cdk), instead of synthesizing the app again in this
 * file (~4 s a file). Only for the shipped config as it is: a test that changes the topology, turns a bug
 * switch on or needs the constructs synthesizes its own app (`testEnvironment`).
 */
export async function shippedTemplatesOf(env: 'dev' | 'prod'): Promise<Record<string, Template>> {
  const { templates } = await shippedTemplates(env);
  const topology = bank.topology(env);
  const byKey: Record<string, Template> = {};
  const of = (stackName: string) => {
    const template = templates[stackName];
    if (!template) throw new Error(`no stack ${stackName} in the synthesized ${env} templates`);
    return Template.fromJSON(template as unknown as Record<string, unknown>);
  };
  for (const region of regionNames(topology)) {
    byKey[region] = of(regionalStackName(env, region));
    byKey[`${region}-foundation`] = of(foundationStackName(env, region));
  }
  byKey.global = of(globalStackName(env));
  return byKey;
}

/** A two-region topology with weighted routing and automatic failover switched off. */
export function twoRegionTopology(overrides: Record<string, unknown> = {}): Topology {
  return parseTopology({
    name: 'pair',
    account: '333333333333',
    regions: [
      { name: 'eu-central-1', weight: 3 },
      { name: 'eu-west-2', weight: 1 },
    ],
    aggregates: [{ type: 'account', tier: 'core' }],
    latencyMs: { 'eu-central-1|eu-west-2': 8 },
    gtm: {
      policy: 'weighted',
      autoFailover: false,
      domainName: 'api.pair.example.org',
      hostedZoneId: 'Z0PAIR0000000000000001',
      hostedZoneName: 'pair.example.org',
      healthCheck: { intervalSeconds: 30, failureThreshold: 2 },
    },
    ...overrides,
  });
}
