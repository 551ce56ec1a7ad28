import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { guardSamples } from '../constructs/sample-guard.ts';
import { foundationStackName, globalStackName, regionalStackName } from '../naming.ts';
import { FoundationStack } from './foundation-stack.ts';
import { GlobalStack } from './global-stack.ts';
import { RegionalStack } from './regional-stack.ts';

export interface EnvironmentStacks {
  readonly foundation: Readonly<Record<string, FoundationStack>>;
  readonly regional: Readonly<Record<string, RegionalStack>>;
  readonly global: GlobalStack;
}

export interface EnvironmentOptions {
  /** The application config module the handlers are bundled with (required when bundling). */
  readonly applicationModule?: string;
}

/**
 * Every stack of one environment, in deployment order: a FoundationStack per region (the replication
 * buses), then a RegionalStack per region (each depends on every foundation, because its forwarding rules
 * target the peers' buses), then the GlobalStack (its health rules target the buses; its health checks
 * probe the cells' records). `cdk deploy --all` follows these dependencies. Construct ids equal stack
 * names, so each template lands in `cdk.out/<stack name>.template.json`.
 */
export function createEnvironment(
  scope: Construct,
  topology: Topology,
  options: EnvironmentOptions = {},
): EnvironmentStacks {
  const foundation: Record<string, FoundationStack> = {};
  for (const region of regionNames(topology)) {
    const name = foundationStackName(topology.name, region);
    foundation[region] = new FoundationStack(scope, name, {
      stackName: name,
      topology,
      region,
      description: `multiactive ${topology.name}: replication bus in ${region}`,
    });
  }
  const regional: Record<string, RegionalStack> = {};
  for (const region of regionNames(topology)) {
    const name = regionalStackName(topology.name, region);
    const stack = new RegionalStack(scope, name, {
      stackName: name,
      topology,
      region,
      ...(options.applicationModule ? { applicationModule: options.applicationModule } : {}),
      description: `multiactive ${topology.name}: cell in ${region}`,
    });
    for (const bus of Object.values(foundation)) stack.addStackDependency(bus);
    regional[region] = stack;
  }
  const name = globalStackName(topology.name);
  const global = new GlobalStack(scope, name, {
    stackName: name,
    topology,
    description: `multiactive ${topology.name}: Route 53 GTM, health checks and their alarms`,
  });
  // Only ordering, no references: everything another stack needs is addressed by a deterministic name.
  for (const stack of [...Object.values(foundation), ...Object.values(regional)])
    global.addStackDependency(stack);
  // Every stack refuses a sample configuration; the synth warnings are printed once, on the global stack.
  for (const stack of [...Object.values(foundation), ...Object.values(regional), global])
    guardSamples(stack, topology, { warn: stack === global });
  // Every stack carries the version it was deployed from: `multiactive readiness --env` compares the regions'.
  // Set here, so every synthesis path (cdk synth, the sandbox, the tests' cfn-lint) yields the same
  // templates. Not on dashboards: their `Tags` property is newer than cfn-lint's schema (E3002), and a
  // dashboard needs no version.
  const version = String(scope.node.tryGetContext('version') ?? packageVersion());
  Tags.of(scope).add('multiactive:version', version, {
    excludeResourceTypes: ['AWS::CloudWatch::Dashboard'],
  });
  return { foundation, regional, global };
}

/** This package's version (package.json at the repository root). */
function packageVersion(): string {
  const file = join(import.meta.dirname, '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
