import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../config/index.ts';
import { enabledBugs } from '../../faults/index.ts';
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

/** The synthesizer (run in a child process): its relative imports reach every CDK source it reads. */
const SYNTH_ENTRY = join('bin', 'synth-templates.ts');

/** Relative module specifiers of a TypeScript source: `from '…'`, `import '…'`, `import('…')`. */
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/**
 * Every file the entries import, transitively (relative imports only: packages are covered by the
 * aws-cdk-lib version and the lock file). A type-only import is followed too: more files, never fewer.
 */
export function importClosure(entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const pending = entries.filter((file) => existsSync(file));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.[cm]?[jt]sx?$/.test(file)) continue;
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(RELATIVE_IMPORT)) {
      const target = resolve(dirname(file), match[1]!);
      const candidates = [target, `${target}.ts`, join(target, 'index.ts')];
      const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
      if (found && !seen.has(found)) pending.push(found);
    }
  }
  return [...seen].sort();
}

function sourceFiles(root: string, config: string | undefined): string[] {
  const entries = [join(root, SYNTH_ENTRY), ...(config ? [resolve(root, config)] : [])];
  const extras = [join(root, 'cdk.json'), join(root, 'package-lock.json')];
  return [...importClosure(entries), ...extras.filter((f) => existsSync(f))];
}

/** The installed aws-cdk-lib's version (a new one can change every template). */
function cdkLibVersion(root: string): string {
  const manifest = join(root, 'node_modules', 'aws-cdk-lib', 'package.json');
  return existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
    : '';
}

/**
 * A hash of everything the templates depend on: the environment's topology, every source file the
 * synthesizer (bin/synth-templates.ts) and the application config module import, transitively (cdk/,
 * the lib/ modules the stacks read, the application's sagas), cdk.json, the lock file and aws-cdk-lib's
 * version, and the bug switches turned on (a CDK construct may build a broken resource under one: the
 * proof suite's sandbox must run that build, not the cached sound one). Bundling is skipped, so the
 * handlers' code is not part of the templates.
 */
export function sourceFingerprint(
  topology: Topology,
  root = PROJECT_ROOT,
  config?: string,
  bugs: readonly string[] = [],
): string {
  const hash = createHash('sha256').update(JSON.stringify(topology)).update(cdkLibVersion(root));
  if (bugs.length > 0) hash.update(`bugs:${bugs.join(',')}`);
  for (const file of sourceFiles(root, config)) hash.update(relative(root, file)).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function runSynth(
  root: string,
  options: { env: string; config: string; out: string; bugs: readonly string[] },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'bin', 'synth-templates.ts'), options.env, options.out, options.config],
      // The switches on in this process, and only those (not whatever the parent's environment named).
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MULTIACTIVE_TEST_BUGS: options.bugs.join(',') },
      },
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
 * The synthesized templates of an environment: from the cache when neither the CDK sources, the topology
 * nor the bug switches on have changed, else synthesized in a child process (bundling skipped; the
 * switches on passed to it) and cached. (cdk.out is not read: it may hold another application's stacks
 * under the same names.)
 */
export async function loadTemplates(
  options: LoadTemplatesOptions,
): Promise<{ templates: StackTemplates; source: TemplateSource }> {
  const root = options.root ?? PROJECT_ROOT;
  const env = options.topology.name;
  const bugs = enabledBugs();
  const fingerprint = sourceFingerprint(options.topology, root, options.config, bugs);
  const cached = join(options.cacheDir, `${env}-${fingerprint}.json`);
  if (existsSync(cached)) {
    return { templates: JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates, source: 'cache' };
  }
  mkdirSync(options.cacheDir, { recursive: true });
  const synthesized = await synthOnce(cached, () =>
    runSynth(root, { env, config: options.config, out: cached, bugs }),
  );
  const templates = JSON.parse(readFileSync(cached, 'utf8')) as StackTemplates;
  const missing = options.stackNames.filter((name) => !templates[name]);
  if (missing.length > 0) throw new SandboxError(`synthesized app has no stack ${missing.join(', ')}`);
  return { templates, source: synthesized ? 'synth' : 'cache' };
}

/** A lock older than this is a synthesizer that died (a synth takes ~5-20 s). */
const STALE_LOCK_MS = 180_000;

/**
 * Runs `synth` (which writes `out`) unless another process is already writing `out`: test files running
 * in parallel then wait for that one synthesis instead of each running its own. True when this process
 * synthesized.
 */
async function synthOnce(out: string, synth: () => Promise<void>): Promise<boolean> {
  const lock = `${out}.lock`;
  for (;;) {
    if (existsSync(out)) return false;
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (fd !== undefined) {
      closeSync(fd);
      try {
        if (existsSync(out)) return false;
        await synth();
        return true;
      } finally {
        rmSync(lock, { force: true });
      }
    }
    const age = (() => {
      try {
        return Date.now() - statSync(lock).mtimeMs;
      } catch {
        return 0; // released meanwhile
      }
    })();
    if (age > STALE_LOCK_MS) rmSync(lock, { force: true });
    else await new Promise((done) => setTimeout(done, 200));
  }
}
