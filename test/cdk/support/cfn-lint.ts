import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../../lib/sandbox/cdk/templates.ts';

const run = promisify(execFile);

/**
 * cfn-lint findings accepted, each with the reason. Only warnings may be listed here; an error is never
 * accepted.
 */
export const ACCEPTED_WARNINGS: Readonly<Record<string, string>> = {
  W3005:
    'aws-cdk-lib makes each function (and each state machine) DependsOn its role besides the GetAtt of the ' +
    "role's ARN, so that the role's policy exists before the first invocation; the extra DependsOn is redundant, not wrong.",
};

export interface Finding {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: ReadonlyArray<string | number> };
}

/** Where cfn-lint's findings are kept, by what was linted (.sandbox is not committed). */
export const CFN_LINT_CACHE = join(PROJECT_ROOT, '.sandbox', 'cfn-lint');

/** Runs cfn-lint (on PATH, Python) over the files; it exits non-zero whenever it reports anything. */
async function runCfnLint(files: readonly string[]): Promise<Finding[]> {
  const options = { maxBuffer: 64 * 1024 * 1024 };
  const output = await run('cfn-lint', ['--format', 'json', ...files], options).then(
    (done) => done.stdout,
    (failed: { stdout?: string; stderr?: string; code?: number }) => {
      if (!failed.stdout) throw new Error(`cfn-lint failed (exit ${failed.code}): ${failed.stderr}`);
      return failed.stdout;
    },
  );
  return JSON.parse(output || '[]') as Finding[];
}

/**
 * cfn-lint's findings on the files: from the cache when the same cfn-lint version (its rules and resource
 * specs ship with the version) has linted the same files (names and bytes) before, else linted (~2.5 s a
 * cell template) and kept. A changed template, or a new cfn-lint, is linted again. A finding's Filename is
 * the path given here, whatever path it was linted under.
 */
export async function cfnLint(files: readonly string[], cacheDir = CFN_LINT_CACHE): Promise<Finding[]> {
  const version = (await run('cfn-lint', ['--version'])).stdout.trim();
  const hash = createHash('sha256').update(version).update('\0--format json');
  for (const file of files) hash.update('\0').update(basename(file)).update('\0').update(readFileSync(file));
  const cached = join(cacheDir, `${hash.digest('hex').slice(0, 24)}.json`);
  type Stored = Omit<Finding, 'Filename'> & { readonly Filename: number };
  if (existsSync(cached)) {
    const stored = JSON.parse(readFileSync(cached, 'utf8')) as Stored[];
    return stored.map((f) => ({ ...f, Filename: files[f.Filename]! }));
  }
  const findings = await runCfnLint(files);
  const stored: Stored[] = findings.map((f) => {
    const index = files.indexOf(f.Filename);
    if (index < 0) throw new Error(`cfn-lint reported a file it was not given: ${f.Filename}`);
    return { ...f, Filename: index };
  });
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${cached}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(stored));
  renameSync(partial, cached);
  return findings;
}
