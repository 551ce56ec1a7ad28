import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './cli.ts';

// A team's first ten minutes: `multiactive init` into a new directory, `npm install` against this
// checkout (file:, the rest from the npm cache), the project's own `npm test`, then its sandbox.
const work = mkdtempSync(join(tmpdir(), 'multiactive-init-'));
const project = join(work, 'my-shop');

/** The environment of a command a user types: none of this vitest run's own variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('VITEST') && !['NODE_ENV', 'FORCE_COLOR'].includes(key),
    ),
  );
  return {
    ...env,
    NODE_NO_WARNINGS: '1',
    NO_COLOR: '1',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
}

/** Runs a command in the project as a user would, to its end: exit code and output. */
function run(command: string, args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: project, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npx multiactive init <dir>', () => {
  it('writes a project that depends on this checkout and prints what it wrote and the next commands', async () => {
    const { code, out } = await runCli(['init', project], work);
    expect(out).toContain(`wrote 14 files to ${project} (multiactive: file:${ROOT})`);
    for (const file of ['multiactive.config.ts', 'src/wallet.ts', 'test/wallet.test.ts', 'envs/prod.ts'])
      expect(out).toContain(`  ${file}\n`);
    expect(out).toContain('cd my-shop');
    expect(out).toContain('npm install && npm start');
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      name: string;
      dependencies: Record<string, string>;
    };
    expect(pkg.name).toBe('my-shop');
    expect(pkg.dependencies.multiactive).toBe(`file:${ROOT}`);
    expect(readFileSync(join(project, 'multiactive.config.ts'), 'utf8')).toContain("name: 'my-shop'");
  });

  it("puts exactly two commands on the README's first screen: start and test", () => {
    const readme = readFileSync(join(project, 'README.md'), 'utf8');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(readme.split('\n').findIndex((line) => line.startsWith('```sh'))).toBeLessThan(12);
    expect(
      firstBlock
        .trim()
        .split('\n')
        .map((line) => line.split('#')[0]?.trim()),
    ).toEqual(['npm install && npm start', 'npm test']);
  });

  it('refuses a directory that is not empty, with exit code 2, and changes nothing in it', async () => {
    const before = readdirSync(project, { recursive: true }).length;
    const { code, out } = await runCli(['init', project], work);
    expect(out).toContain(`multiactive: ${project} is not empty`);
    expect(code).toBe(2);
    expect(readdirSync(project, { recursive: true })).toHaveLength(before);
  });

  it('installs against this checkout and passes its own npm test', async () => {
    const install = await run('npm', ['install', '--prefer-offline']);
    if (install.code !== 0) console.error(install.out);
    expect(install.code).toBe(0);
    const test = await run('npm', ['test']);
    if (test.code !== 0) console.error(test.out);
    expect(test.out).toMatch(/Tests\s+\d+ passed/);
    expect(test.out).not.toMatch(/failed/);
    expect(test.code).toBe(0);
  }, 360_000);

  it('brings its application up in the sandbox: npx multiactive sandbox up --once --fast exits 0', async () => {
    const { code, out } = await run('npx', ['multiactive', 'sandbox', 'up', '--once', '--fast']);
    if (code !== 0) console.error(out);
    expect(out).toContain('consistency check: PASS');
    expect(code).toBe(0);
  }, 480_000);
});
