import type { App } from 'aws-cdk-lib';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { internalKeyHome } from '../constructs/internal-key.ts';
import { globalStackName, regionalStackName } from '../naming.ts';
import { GlobalStack } from './global-stack.ts';
import { RegionalStack } from './regional-stack.ts';

export interface EnvironmentStacks {
  readonly regional: Readonly<Record<string, RegionalStack>>;
  readonly global: GlobalStack;
}

/**
 * Every stack of one environment: a RegionalStack per configured region and the GlobalStack.
 * Construct ids equal stack names, so each template lands in `cdk.out/<stack name>.template.json`.
 */
export function createEnvironment(app: App, topology: Topology): EnvironmentStacks {
  const regional: Record<string, RegionalStack> = {};
  for (const region of regionNames(topology)) {
    const name = regionalStackName(topology.name, region);
    regional[region] = new RegionalStack(app, name, {
      stackName: name,
      topology,
      region,
      description: `multiactive ${topology.name}: cell in ${region}`,
    });
  }
  const name = globalStackName(topology.name);
  const global = new GlobalStack(app, name, {
    stackName: name,
    topology,
    description: `multiactive ${topology.name}: Route 53 GTM, health checks and their alarms`,
  });
  // Only ordering, no references: the health checks probe the regional records, so the cells go first.
  for (const stack of Object.values(regional)) global.addStackDependency(stack);
  // The internal key is created (and replicated) by the first region's stack; the others read it.
  const keyHome = regional[internalKeyHome(topology)]!;
  for (const stack of Object.values(regional)) if (stack !== keyHome) stack.addStackDependency(keyHome);
  return { regional, global };
}
