import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { shippedTemplates } from '../support/templates.ts';

const run = promisify(execFile);

/**
 * cfn-lint findings accepted, each with the reason. Only warnings may be listed here; an error is never
 * accepted.
 */
const ACCEPTED_WARNINGS: Readonly<Record<string, string>> = {
  W3005:
    'aws-cdk-lib makes each function (and each state machine) DependsOn its role besides the GetAtt of the ' +
    "role's ARN, so that the role's policy exists before the first invocation; the extra DependsOn is redundant, not wrong.",
};

interface Finding {
  readonly Filename: string;
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: ReadonlyArray<string | number> };
}

/** Runs cfn-lint (on PATH, Python) over the files; it exits non-zero whenever it reports anything. */
async function cfnLint(files: readonly string[]): Promise<Finding[]> {
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

describe('cfn-lint over every synthesized template of dev and prod', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-cfn-lint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports no error, and only warnings accepted with a reason', async () => {
    const files: string[] = [];
    for (const env of ['dev', 'prod'] as const) {
      for (const [name, template] of Object.entries((await shippedTemplates(env)).templates)) {
        const file = join(dir, `${name}.template.json`);
        writeFileSync(file, JSON.stringify(template, null, 1));
        files.push(file);
      }
    }
    // Per environment: three foundations, three cells, the global stack.
    expect(files).toHaveLength(14);
    const findings = await cfnLint(files);
    const describe = (f: Finding) =>
      `${f.Rule.Id} ${f.Filename.slice(dir.length + 1)} ${f.Location.Path.join('/')}: ${f.Message}`;
    expect(findings.filter((f) => f.Level === 'Error').map(describe)).toEqual([]);
    expect(findings.filter((f) => !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describe)).toEqual([]);
  }, 600_000);
});
