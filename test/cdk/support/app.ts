import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { unbundledContext } from '../../../cdk/app-context.ts';
import { createEnvironment, type EnvironmentStacks } from '../../../cdk/stacks/environment.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';

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
