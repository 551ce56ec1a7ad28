import { dev } from './envs/dev.ts';
import { prod } from './envs/prod.ts';
import { UnknownEnvironmentError } from './errors.ts';
import type { Topology, TopologyInput } from './schema.ts';
import { parseTopology } from './validate.ts';

const ENVIRONMENTS: Readonly<Record<string, TopologyInput>> = { dev, prod };

/** Names of the environments shipped in `lib/config/envs`. */
export function knownEnvironments(): string[] {
  return Object.keys(ENVIRONMENTS).sort();
}

/**
 * Loads and validates the named environment's topology.
 * @example loadTopology('dev').regions.map((r) => r.name)
 */
export function loadTopology(env: string): Topology {
  const input = ENVIRONMENTS[env];
  if (!input) throw new UnknownEnvironmentError(env, knownEnvironments());
  return parseTopology(input, `lib/config/envs/${env}.ts`);
}
