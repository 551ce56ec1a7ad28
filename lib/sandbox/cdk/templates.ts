import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
export type TemplateSource = 'cache' | 'cdk.out' | 'synth';

/** The repository root (two levels above lib/sandbox/cdk). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Sources whose change changes the templates: the CDK app and what it reads from lib/. */
const SOURCE_DIRS = ['cdk', 'lib/config', 'lib/store', 'events'];

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

/** A hash of every source the templates depend on: a changed rule in CDK gives a new fingerprint. */
export function sourceFingerprint(env: string, root = PROJECT_ROOT): string {
  const hash = createHash('sha256').update(env);
  for (const file of sourceFiles(root)) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/** cdk.out, if every template in it is newer than every source and it has this environment's stacks. */
function fromCdkOut(root: string, env: string, stackNames: readonly string[]): StackTemplates | undefined {
  const dir = join(root, 'cdk.out');
  const paths = stackNames.map((name) => join(dir, `${name}.template.json`));
  if (!paths.every((p) => existsSync(p))) return undefined;
  const newestSource = Math.max(...sourceFiles(root).map((f) => statSync(f).mtimeMs));
  if (paths.some((p) => statSync(p).mtimeMs < newestSource)) return undefined;
  void env;
  return Object.fromEntries(
    stackNames.map((name, i) => [name, JSON.parse(readFileSync(paths[i] as string, 'utf8')) as CfnTemplate]),
  );
}

function runSynth(root: string, env: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bin', 'synth-templates.ts'), env, out],
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
  readonly env: string;
  /** Stack names that must be present (the regional stacks and the global one). */
  readonly stackNames: readonly string[];
  /** Where synthesized templates are cached (`.sandbox/cdk`). */
  readonly cacheDir: string;
  readonly root?: string;
}

/**
 * The synthesized templates of an environment: from the cache when the CDK sources have not changed,
 * else from a fresh cdk.out, else synthesized in a child process (bundling skipped) and cached.
 */
export async function loadTemplates(
  options: LoadTemplatesOptions,
): Promise<{ templates: StackTemplates; source: TemplateSource }> {
  const root = options.root ?? PROJECT_ROOT;
  const cached = join(options.cacheDir, `${options.env}-${sourceFingerprint(options.env, root)}.json`);
  if (existsSync(cached)) {
    return { templates: JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates, source: 'cache' };
  }
  const fresh = fromCdkOut(root, options.env, options.stackNames);
  if (fresh) return { templates: fresh, source: 'cdk.out' };
  mkdirSync(options.cacheDir, { recursive: true });
  await runSynth(root, options.env, cached);
  const templates = JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates;
  const missing = options.stackNames.filter((name) => !templates[name]);
  if (missing.length > 0) throw new SandboxError(`synthesized app has no stack ${missing.join(', ')}`);
  return { templates, source: 'synth' };
}
