import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadApplication } from '../../lib/app/index.ts';
import { parseTopology, type Topology, UnknownEnvironmentError } from '../../lib/config/index.ts';
import { UsageError } from '../../lib/ops/errors.ts';

/** Where environments lived before the application config (a ref older than it is read from there). */
const legacyEnvModule = (env: string) => join('lib', 'config', 'envs', `${env}.ts`);
const PARTITION_MODULE = join('lib', 'ownership', 'partition.ts');

/** Keys the partition hash is compared on (any fixed set: a different hash moves almost all of them). */
const SAMPLE_KEYS = Array.from({ length: 512 }, (_, i) => `user-${i}`);

/** One side of a plan: the topology and its partition hash. */
export interface PlanSide {
  readonly topology: Topology;
  /** Where it was read: `main (3f2c1a9)`, `working tree`. */
  readonly label: string;
  /** The partition of each sample key under `topology.partitions`, or undefined without a hash module. */
  readonly partitionsOfSamples?: readonly number[];
}

function git(root: string, args: readonly string[]): string {
  return execFileSync('git', ['-C', root, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** The root of the git repository around `cwd`. */
export function repositoryRoot(cwd: string): string {
  try {
    return git(cwd, ['rev-parse', '--show-toplevel']);
  } catch {
    throw new UsageError(`${cwd} is not in a git repository: plan compares the topology with a git ref`);
  }
}

/** The environment's topology as the application config at `root/config` defines it. */
async function configTopology(root: string, config: string, env: string, label: string): Promise<Topology> {
  try {
    return (await loadApplication(join(root, config))).topology(env);
  } catch (error) {
    if (error instanceof UnknownEnvironmentError)
      throw new UsageError(`${config} in ${label}: ${error.message}`);
    throw error;
  }
}

/** The topology exported by a legacy environment module (the export whose `name` is the environment). */
async function importTopology(file: string, env: string, label: string): Promise<Topology> {
  if (!existsSync(file)) throw new UsageError(`no ${legacyEnvModule(env)} in ${label}`);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const exported = Object.values(module).filter((v) => v !== null && typeof v === 'object');
  const input =
    exported.find((v) => (v as { name?: unknown }).name === env) ??
    (exported.length === 1 ? exported[0] : undefined);
  if (!input) throw new UsageError(`${legacyEnvModule(env)} in ${label} exports no topology named ${env}`);
  return parseTopology(input, `${legacyEnvModule(env)} (${label})`);
}

async function sampleHash(root: string, partitions: number): Promise<number[] | undefined> {
  const file = join(root, PARTITION_MODULE);
  if (!existsSync(file)) return undefined;
  const { partitionOf } = (await import(pathToFileURL(file).href)) as {
    partitionOf?: (key: string, partitions: number) => number;
  };
  return partitionOf ? SAMPLE_KEYS.map((k) => partitionOf(k, partitions)) : undefined;
}

/** The environment as the working tree of the repository holds it now (`config` relative to `root`). */
export async function workingTreeSide(root: string, config: string, env: string): Promise<PlanSide> {
  const topology = await configTopology(root, config, env, 'the working tree');
  const samples = await sampleHash(root, topology.partitions);
  return { topology, label: 'working tree', ...(samples ? { partitionsOfSamples: samples } : {}) };
}

/** What `refSide` compares: the environment, the ref, the config's path relative to the root. */
export interface RefSideOptions {
  readonly env: string;
  readonly ref: string;
  readonly config: string;
  /** The working tree's partition count, which the ref's partition hash is sampled with. */
  readonly partitions: number;
}

/**
 * The environment as `ref` holds it: the ref's tree is extracted (git archive) under .sandbox/plan of the
 * repository, where its imports resolve against the project's node_modules, its application config
 * imported and validated with today's schema (a ref from before the config: its lib/config/envs module),
 * its partition hash sampled with the working tree's partition count; then the copy is removed.
 */
export async function refSide(root: string, options: RefSideOptions): Promise<PlanSide> {
  const { env, ref, config, partitions } = options;
  let sha: string;
  try {
    sha = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new UsageError(`unknown git ref ${ref}`);
  }
  const label = `${ref} (${sha.slice(0, 7)})`;
  const dir = join(root, '.sandbox', 'plan', `${sha.slice(0, 12)}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const archive = execFileSync('git', ['-C', root, 'archive', '--format=tar', sha], {
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    const topology = existsSync(join(dir, config))
      ? await configTopology(dir, config, env, label)
      : await importTopology(join(dir, legacyEnvModule(env)), env, label);
    const samples = await sampleHash(dir, partitions);
    return { topology, label, ...(samples ? { partitionsOfSamples: samples } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
