import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UsageError } from '../../lib/ops/errors.ts';

/** The package this CLI belongs to (a checkout, or node_modules/multiactive in a project). */
const ROOT = join(import.meta.dirname, '..', '..');
/** What `multiactive init` copies. */
export const TEMPLATE_DIR = join(ROOT, 'templates', 'init');

/** Template files whose name cannot be their final name (npm drops `.gitignore`; a `package.json` would scope them). */
const RENAMED: Readonly<Record<string, string>> = {
  'package.json.tmpl': 'package.json',
  gitignore: '.gitignore',
};

export interface InitFlags {
  /** The package and application name (default: the directory's name). */
  readonly name?: string;
  /** Where the project installs multiactive from: an npm spec (`^0.1.0`, `file:../multiactive`). */
  readonly from?: string;
}

export interface InitResult {
  readonly dir: string;
  readonly name: string;
  readonly dependency: string;
  /** The files written, relative to `dir`, sorted. */
  readonly files: readonly string[];
}

/** An npm package name from a directory name: lower case, `-` for anything npm refuses. */
export function packageNameOf(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '');
  return name === '' ? 'my-app' : name.slice(0, 214);
}

/**
 * The dependency the project declares: the published range of this version, or, when this CLI runs from a
 * checkout rather than from an installed package, that checkout (a range would name nothing installable).
 */
export function defaultDependency(root = ROOT): string {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return root.split(sep).includes('node_modules') ? `^${version}` : `file:${resolve(root)}`;
}

function templateFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? templateFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

const targetName = (file: string) => {
  const base = basename(file);
  const renamed = RENAMED[base];
  return renamed ? join(dirname(file), renamed) : file;
};

/** Refuses a target that exists and is not an empty directory: init never overwrites anyone's files. */
function checkTarget(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} exists and is not a directory`);
  const entries = readdirSync(dir);
  if (entries.length > 0)
    throw new UsageError(
      `${dir} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries.sort()[0]}): ` +
        'multiactive init writes a new project into a new or empty directory only; choose another one',
    );
}

/**
 * Writes a new project into `dir` from the templates: `{{name}}` and `{{multiactive}}` (the dependency)
 * are filled in. Throws a `UsageError` (exit 2) for a directory that is not empty or a name npm refuses.
 * @example initProject('my-app', { from: 'file:../multiactive' })
 */
export function initProject(dir: string, flags: InitFlags = {}, templates = TEMPLATE_DIR): InitResult {
  const target = resolve(dir);
  const name = flags.name ?? packageNameOf(target);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name))
    throw new UsageError(
      `--name ${JSON.stringify(name)}: an npm package name is lower-case letters, digits, . _ -`,
    );
  const dependency = flags.from ?? defaultDependency();
  checkTarget(target);
  // The dependency lands inside a JSON string (package.json): escaped as one.
  const values: Record<string, string> = { name, multiactive: JSON.stringify(dependency).slice(1, -1) };
  const files = templateFiles(templates).sort();
  for (const file of files) {
    const text = readFileSync(join(templates, file), 'utf8').replace(
      /\{\{(name|multiactive)\}\}/g,
      (_, key: string) => values[key] as string,
    );
    const out = join(target, targetName(file));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text, { flag: 'wx' });
  }
  return { dir: target, name, dependency, files: files.map(targetName).sort() };
}

/** The lines `multiactive init` prints: what it wrote and the next commands. */
export function initLines(result: InitResult, cwd = process.cwd()): string[] {
  const relativePath = relative(cwd, result.dir);
  const where = relativePath.startsWith('..') ? result.dir : relativePath || '.';
  return [
    `wrote ${result.files.length} files to ${result.dir} (multiactive: ${result.dependency}):`,
    ...result.files.map((f) => `  ${f}`),
    '',
    'next:',
    ...(where === '.' ? [] : [`  cd ${where.includes(' ') ? JSON.stringify(where) : where}`]),
    '  npm install && npm start    # the app in three local regions (npx multiactive sandbox up)',
    '  npm test                    # the given/when/then tests of the deciders',
  ];
}
