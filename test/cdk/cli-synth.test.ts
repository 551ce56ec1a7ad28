import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, PROJECT_ROOT } from '../../cdk/constructs/function-defaults.ts';

const run = promisify(execFile);

/** The environment of a machine with no AWS credentials at all (setup-env's dummy keys removed too). */
function credentialFreeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')),
  );
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

describe('the CDK CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'multiactive-cdk-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes dev offline, bundling every handler with the application of multiactive.config.ts', async () => {
    await run('npx', ['cdk', 'synth', '--quiet', '-o', out], {
      cwd: PROJECT_ROOT,
      env: credentialFreeEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string; properties?: Record<string, string> }>;
    };
    // The manifest maps each stack to its template file (it names the stack only where the artifact id differs).
    const stacks = new Map(
      Object.entries(manifest.artifacts)
        .filter(([, a]) => a.type === 'aws:cloudformation:stack')
        .map(([id, a]) => [a.properties?.stackName ?? id, a] as const),
    );
    for (const stack of ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'global']) {
      const artifact = stacks.get(`multiactive-dev-${stack}`);
      expect(artifact, stack).toBeDefined();
      expect(existsSync(join(out, artifact?.properties?.templateFile ?? '')), stack).toBe(true);
    }
    const cell = stacks.get('multiactive-dev-eu-west-1');
    expect(cell?.environment).toBe('aws://111111111111/eu-west-1');
    const template = JSON.parse(readFileSync(join(out, cell?.properties?.templateFile ?? ''), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>,
    ).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    // Every bundle carries the example bank's code (the config's aggregates), injected before the handler.
    for (const fn of functions) {
      const asset = fn.Metadata?.['aws:asset:path'] ?? '';
      const bundle = readFileSync(join(out, asset, 'index.mjs'), 'utf8');
      expect(bundle.includes('InsufficientFunds') && bundle.includes('multiactive.application'), asset).toBe(
        true,
      );
    }
  }, 180_000);

  it('names the known environments when asked for an unknown one', async () => {
    const failure = run('node', ['--import', 'tsx', 'cdk/bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: credentialFreeEnv({ CDK_CONTEXT_JSON: JSON.stringify({ env: 'staging' }), CDK_OUTDIR: out }),
    });
    await expect(failure).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('unknown environment "staging"; known environments: dev, prod, world'),
    });
  }, 60_000);
});
