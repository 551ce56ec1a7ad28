import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { unbundledContext } from '../../cdk/app-context.ts';
import { createEnvironment } from '../../cdk/stacks/environment.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { deployedTemplatesOf, environmentStackNames } from '../../lib/sandbox/cdk/stacks.ts';
import type { CfnTemplate } from '../../lib/sandbox/cdk/templates.ts';
import { loadTemplates, PROJECT_ROOT } from '../../lib/sandbox/cdk/templates.ts';
import type { DeployedTemplate } from '../../lib/sandbox/iam/index.ts';
import { BANK_CONFIG } from './bank.ts';

/** Every stack of an environment, synthesized in-process (bundling skipped), by stack name. */
export interface SynthesizedEnvironment {
  readonly templates: Record<string, CfnTemplate>;
  /** The same templates with the region and account each is deployed to (what the sandbox's IAM reads). */
  readonly deployed: DeployedTemplate[];
}

export function synthesizeEnvironment(topology: Topology): SynthesizedEnvironment {
  const app = new App({ context: unbundledContext() });
  const stacks = createEnvironment(app, topology);
  const assembly = app.synth();
  const all = [...Object.values(stacks.foundation), ...Object.values(stacks.regional), stacks.global];
  const templates: Record<string, CfnTemplate> = {};
  const deployed: DeployedTemplate[] = [];
  for (const stack of all) {
    const template = assembly.getStackByName(stack.stackName).template as CfnTemplate;
    templates[stack.stackName] = template;
    deployed.push({
      template,
      env: { region: stack.region, account: stack.account, stackName: stack.stackName },
    });
  }
  return { templates, deployed };
}

/**
 * A shipped environment's templates, synthesized once per change of the CDK sources and shared by every
 * test file and the sandbox (the `.sandbox/cdk` cache, keyed by a hash of cdk/, lib/config, lib/store,
 * lib/app, cdk.json and the topology).
 */
export async function shippedTemplates(env: 'dev' | 'prod' | 'world'): Promise<SynthesizedEnvironment> {
  const topology = bank.topology(env);
  const { templates } = await loadTemplates({
    topology,
    config: BANK_CONFIG,
    stackNames: environmentStackNames(env, regionNames(topology)),
    cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
  });
  return {
    templates: { ...templates },
    deployed: deployedTemplatesOf(env, topology.account, templates),
  };
}
