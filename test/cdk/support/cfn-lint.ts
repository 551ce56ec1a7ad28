import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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

/** Runs cfn-lint (on PATH, Python) over the files; it exits non-zero whenever it reports anything. */
export async function cfnLint(files: readonly string[]): Promise<Finding[]> {
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
