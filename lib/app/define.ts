import { z } from 'zod';
import {
  ConfigError,
  type ConfigIssue,
  formatPath,
  parseTopology,
  type Topology,
  type TopologyInput,
  UnknownEnvironmentError,
} from '../config/index.ts';
import { type AnyAggregate, createRegistry } from '../model/index.ts';
import type { AnySaga } from '../sagas/index.ts';
import type { ChaosPlugin } from '../sandbox/chaos/plugin.ts';
import type { DemoWorkload } from '../sandbox/demo/clients.ts';

/** What a team writes: its aggregates, its sagas and one topology per environment. */
export interface ApplicationInput<E extends string = string> {
  /** The application's name (logs, the sandbox banner). */
  readonly name: string;
  readonly aggregates: readonly AnyAggregate[];
  /** Sagas across aggregates (e.g. transfers); each saga's own core aggregate is added to the aggregates. */
  readonly sagas?: readonly AnySaga[];
  /** One topology per environment (`dev`, `prod`, ...): regions, tiers per aggregate type, GTM, objectives. */
  readonly environments: Readonly<Record<E, TopologyInput>>;
  /** The commands the sandbox demo (`npm start`) sends; default: the example bank's. */
  readonly demo?: DemoWorkload;
  /** The chaos runner's workload and the checker of this application's invariants; default: the bank's. */
  readonly chaos?: ChaosPlugin;
}

/** An application, validated: what the CDK app, the Lambda bundles, the sandbox and the CLI run. */
export interface Application<E extends string = string> {
  readonly name: string;
  /** Every aggregate type, the sagas' own aggregates included. */
  readonly aggregates: readonly AnyAggregate[];
  readonly sagas: readonly AnySaga[];
  readonly environments: Readonly<Record<E, Topology>>;
  readonly demo?: DemoWorkload;
  readonly chaos?: ChaosPlugin;
  /** Where it was defined (the config module's path, or `(inline)`), for error messages. */
  readonly source: string;
  /** The module that default-exports it, set by `loadApplication`: the Lambda bundles import it. */
  readonly module?: string;
  /** The named environment's topology; an unknown name throws `UnknownEnvironmentError` listing the known. */
  topology(env: string): Topology;
}

const BRAND = Symbol.for('multiactive.application');

const aggregateShape = z.looseObject({
  name: z.string().min(1),
  tier: z.string(),
  decide: z.function(),
  evolve: z.function(),
  initialState: z.function(),
});
const sagaShape = z.looseObject({ name: z.string().min(1), aggregate: aggregateShape });
const demoShape = z.looseObject({ opening: z.function(), command: z.function() });
const chaosShape = z.looseObject({
  name: z.string().min(1),
  prepare: z.function(),
  client: z.function(),
  check: z.function(),
});

/** The shape of a definition, checked before its parts are used (a config module can export anything). */
export const applicationInputSchema = z.object({
  name: z.string().min(1),
  aggregates: z
    .array(aggregateShape, { error: 'must list the aggregate definitions (defineAggregate)' })
    .min(1),
  sagas: z.array(sagaShape).optional(),
  demo: demoShape.optional(),
  chaos: chaosShape.optional(),
  environments: z
    .record(
      z.string().regex(/^[a-z][a-z0-9-]*$/, 'an environment name is lower-case letters, digits, -'),
      z.unknown(),
    )
    .refine((envs) => Object.keys(envs).length > 0, 'must name at least one environment'),
});

function withSagaAggregates(aggregates: readonly AnyAggregate[], sagas: readonly AnySaga[]): AnyAggregate[] {
  const all = [...aggregates];
  for (const saga of sagas) if (!all.some((a) => a.name === saga.aggregate.name)) all.push(saga.aggregate);
  return all;
}

function duplicateNames(aggregates: readonly AnyAggregate[]): ConfigIssue[] {
  const seen = new Set<string>();
  return aggregates.flatMap((aggregate, index) => {
    const duplicate = seen.has(aggregate.name);
    seen.add(aggregate.name);
    return duplicate
      ? [{ path: `aggregates[${index}]`, message: `duplicate aggregate "${aggregate.name}"` }]
      : [];
  });
}

/** Each environment parsed, and checked against the code: every configured type exists with its tier. */
function parseEnvironments(
  environments: Readonly<Record<string, unknown>>,
  aggregates: readonly AnyAggregate[],
  source: string,
): Record<string, Topology> {
  const parsed: Record<string, Topology> = {};
  for (const [env, input] of Object.entries(environments)) {
    const topology = parseTopology(input, `${source}, environment ${env}`);
    if (topology.name !== env)
      throw new ConfigError(source, [
        { path: `environments.${env}.name`, message: `must be "${env}" (the key it is listed under)` },
      ]);
    try {
      createRegistry(aggregates, topology);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError(source, [{ path: `environments.${env}.aggregates`, message }], { cause: error });
    }
    parsed[env] = topology;
  }
  return parsed;
}

/** True for a value `defineApp` returned. */
export function isApplication(value: unknown): value is Application {
  return typeof value === 'object' && value !== null && BRAND in value;
}

/** The input an application was defined from (to define it again under another source). */
export function inputOf(application: Application): ApplicationInput {
  return (application as unknown as Record<symbol, ApplicationInput>)[BRAND] as ApplicationInput;
}

/**
 * Declares an application: validates its shape (zod), every environment's topology, and that each
 * configured aggregate type exists in code with the same tier; throws a `ConfigError` naming `source`.
 * @example export default defineApp({ name: 'bank', aggregates: [account], environments: { dev } });
 */
export function defineApp<E extends string>(input: ApplicationInput<E>, module?: string): Application<E> {
  const source = module ?? '(inline)';
  const shape = applicationInputSchema.safeParse(input);
  if (!shape.success)
    throw new ConfigError(
      source,
      shape.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  const sagas = input.sagas ?? [];
  const aggregates = withSagaAggregates(input.aggregates, sagas);
  const duplicates = duplicateNames(aggregates);
  if (duplicates.length > 0) throw new ConfigError(source, duplicates);
  const environments = parseEnvironments(input.environments, aggregates, source) as Record<E, Topology>;
  return {
    [BRAND]: input,
    name: input.name,
    aggregates,
    sagas,
    environments,
    ...(input.demo ? { demo: input.demo } : {}),
    ...(input.chaos ? { chaos: input.chaos } : {}),
    source,
    ...(module ? { module } : {}),
    topology(env: string): Topology {
      const topology = (environments as Record<string, Topology>)[env];
      if (!topology) throw new UnknownEnvironmentError(env, Object.keys(environments).sort(), source);
      return topology;
    },
  } as Application<E>;
}
