import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../config/index.ts';
import { SandboxError } from '../errors.ts';

/** A CloudFormation resource as CDK synthesizes it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** A synthesized CloudFormation template. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** Templates of every stack of an environment, keyed by stack name. */
export type StackTemplates = Readonly<Record<string, CfnTemplate>>;

/** Where the templates came from (printed at start-up). */
export type TemplateSource = 'cache' | 'synth';

/** The repository root (two levels above lib/sandbox/cdk). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The platform's sources whose change changes the templates: the CDK app and what it reads from lib/. */
const SOURCE_DIRS = ['cdk', 'lib/config', 'lib/store', 'lib/app'];

function sourceFiles(root: string): string[] {
  const files: string[] = [join(root, 'cdk.json')];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files.filter((f) => existsSync(f)).sort();
}

/**
 * A hash of what the templates depend on: the platform's CDK sources and the environment's topology (the
 * application's only input to the templates; its code is bundled, and bundling is skipped here).
 */
export function sourceFingerprint(topology: Topology, root = PROJECT_ROOT): string {
  const hash = createHash('sha256').update(JSON.stringify(topology));
  for (const file of sourceFiles(root)) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function runSynth(root: string, options: { env: string; config: string; out: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bin', 'synth-templates.ts'), options.env, options.out, options.config],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new SandboxError(`cdk synth failed (exit ${code}): ${stderr.slice(-2000)}`)),
    );
  });
}

export interface LoadTemplatesOptions {
  /** The environment's topology, as the application defines it (its name is the environment). */
  readonly topology: Topology;
  /** The application config module that defines it (synthesized from there on a cache miss). */
  readonly config: string;
  /** Stack names that must be present (the regional stacks and the global one). */
  readonly stackNames: readonly string[];
  /** Where synthesized templates are cached (`.sandbox/cdk`). */
  readonly cacheDir: string;
  readonly root?: string;
}

/**
 * The synthesized templates of an environment: from the cache when neither the CDK sources nor the
 * topology have changed, else synthesized in a child process (bundling skipped) and cached. (cdk.out is
 * not read: it may hold another application's stacks under the same names.)
 */
export async function loadTemplates(
  options: LoadTemplatesOptions,
): Promise<{ templates: StackTemplates; source: TemplateSource }> {
  const root = options.root ?? PROJECT_ROOT;
  const env = options.topology.name;
  const cached = join(options.cacheDir, `${env}-${sourceFingerprint(options.topology, root)}.json`);
  if (existsSync(cached)) {
    return { templates: JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates, source: 'cache' };
  }
  mkdirSync(options.cacheDir, { recursive: true });
  await runSynth(root, { env, config: options.config, out: cached });
  const templates = JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates;
  const missing = options.stackNames.filter((name) => !templates[name]);
  if (missing.length > 0) throw new SandboxError(`synthesized app has no stack ${missing.join(', ')}`);
  return { templates, source: 'synth' };
}
