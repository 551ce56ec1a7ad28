import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_DEFAULTS, lockFileOf, PROJECT_ROOT } from '../../cdk/constructs/function-defaults.ts';

describe('the lock file bundling roots at', () => {
  it("is this checkout's own", () => {
    expect(FUNCTION_DEFAULTS.depsLockFilePath).toBe(join(PROJECT_ROOT, 'package-lock.json'));
  });

  it("is the installing project's when the package came from a registry (npm packs no lock file)", () => {
    const project = realpathSync(mkdtempSync(join(tmpdir(), 'multiactive-lock-')));
    const installed = join(project, 'node_modules', 'multiactive');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(project, 'pnpm-lock.yaml'), '');
    expect(lockFileOf(installed)).toBe(join(project, 'pnpm-lock.yaml'));
    writeFileSync(join(installed, 'package-lock.json'), '{}');
    expect(lockFileOf(installed)).toBe(join(installed, 'package-lock.json'));
  });
});
