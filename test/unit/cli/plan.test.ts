import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../../e2e/cli.ts';

/**
 * `multiactive plan` in a project of its own: a git repository holding this repository's lib/, the example
 * bank and its config on `main`, and branches that change the prod topology. The CLI runs in that repository, as a CI job would.
 */
let repo: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.com', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const prodFile = () => join(repo, 'examples', 'bank', 'envs', 'prod.ts');

/** Rewrites `file` with `change`, which must change it. */
function rewrite(file: string, change: (source: string) => string): void {
  const source = readFileSync(file, 'utf8');
  const changed = change(source);
  expect(changed).not.toBe(source);
  writeFileSync(file, changed);
}

/** A branch from main where `file` (default: the prod topology) is `change` of main's, and `also` changed. */
function branch(
  name: string,
  change: (source: string) => string,
  file = prodFile(),
  also?: () => void,
): void {
  git('checkout', '-q', '-b', name, 'main');
  rewrite(file, change);
  also?.();
  git('commit', '-q', '-am', name);
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'multiactive-plan-'));
  cpSync(join(ROOT, 'lib'), join(repo, 'lib'), { recursive: true });
  cpSync(join(ROOT, 'examples'), join(repo, 'examples'), { recursive: true });
  cpSync(join(ROOT, 'multiactive.config.ts'), join(repo, 'multiactive.config.ts'));
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
  writeFileSync(join(repo, '.gitignore'), 'node_modules\n.sandbox\n');
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'the project');
});

afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
});

describe('multiactive plan (a git repository with the prod topology on main)', () => {
  it('prints the impact report and exits 1 on a branch that moves profile from important to core', async () => {
    // A tier is declared twice, in the aggregate's code and in every environment: they move together.
    const toCore = (s: string) =>
      s.replace(
        "{ type: 'profile', tier: 'important', conflict: 'lww' }",
        "{ type: 'profile', tier: 'core' }",
      );
    branch('profile-core', toCore, prodFile(), () => {
      rewrite(join(repo, 'examples', 'bank', 'envs', 'dev.ts'), toCore);
      rewrite(join(repo, 'examples', 'bank', 'envs', 'world.ts'), toCore);
      rewrite(join(repo, 'examples', 'bank', 'profile.ts'), (s) =>
        s.replace("tier: 'important',", "tier: 'core',"),
      );
    });
    const { code, out } = await runCli(['plan', '--env', 'prod', '--against', 'main'], repo);
    expect(out).toContain('# Change impact: prod, working tree against main (');
    expect(out).toContain('**Verdict: impact: approval needed** (exit 1)');
    expect(out).toContain('- profile moves from important to core');
    expect(out).toContain('| profile | important → **core** |');
    expect(out).toMatch(/\| \*\*total\*\* \| \*\*\$[\d,]+\*\* \| \*\*\$[\d,]+\*\* \| \*\*\+\$[\d,]+\*\* \|/);
    expect(out).toContain('1. **before deploy**: repair every partition');
    expect(code).toBe(1);
  }, 90_000);

  it('refuses (exit 2) a branch that changes the partition count, and names the migration when one is given', async () => {
    branch('partitions', (s) => s.replace('  aggregates: [', '  partitions: 512,\n  aggregates: ['));
    const refused = await runCli(['plan', '--env', 'prod', '--against', 'main'], repo);
    expect(refused.out).toContain('**Verdict: REFUSED** (exit 2)');
    expect(refused.out).toContain('partitions 256 -> 512: every key hashes to another partition');
    expect(refused.code).toBe(2);
    const planned = await runCli(
      ['plan', '--env', 'prod', '--against', 'main', '--migration', 'OPS-42', '--json'],
      repo,
    );
    expect(JSON.parse(planned.out)).toMatchObject({
      verdict: 'approval',
      exitCode: 1,
      dataMove: { migration: 'OPS-42' },
    });
    expect(planned.code).toBe(1);
  }, 90_000);

  it('refuses (exit 2) a branch whose partition hash maps keys differently, with the same partition count', async () => {
    branch(
      'hash',
      (s) => s.replace('0x01000193', '0x01000197'),
      join(repo, 'lib', 'ownership', 'partition.ts'),
    );
    const { code, out } = await runCli(['plan', '--env', 'prod', '--against', 'main'], repo);
    expect(out).toContain('**Verdict: REFUSED** (exit 2)');
    expect(out).toContain(
      'the partition hash (lib/ownership/partition.ts partitionOf) maps keys differently',
    );
    expect(code).toBe(2);
  }, 90_000);

  it('finds no impact (exit 0) against the branch itself, and names an unknown ref in one line (exit 2)', async () => {
    git('checkout', '-q', 'main');
    const same = await runCli(['plan', '--env', 'prod', '--against', 'main'], repo);
    expect(same.out).toContain('**Verdict: no impact** (exit 0)');
    expect(same.code).toBe(0);
    const unknown = await runCli(['plan', '--env', 'prod', '--against', 'no-such-branch'], repo);
    expect(unknown.out.trim()).toBe('multiactive: unknown git ref no-such-branch');
    expect(unknown.code).toBe(2);
  }, 90_000);
});
