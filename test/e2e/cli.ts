import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Repository root. */
export const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the CLI as `npm start` does (`node --import tsx bin/cli/main.ts ...`). */
export function cli(args: readonly string[], cwd = ROOT): ChildProcess {
  // tsx resolved from the repository: the sandbox-up test runs the CLI from a temporary directory.
  const tsx = import.meta.resolve('tsx');
  return spawn(process.execPath, ['--import', tsx, join(ROOT, 'bin/cli/main.ts'), ...args], {
    cwd,
    // A directory without a config of its own (the sandbox-up tests' scratch directories) runs this checkout's.
    env: {
      ...process.env,
      NODE_NO_WARNINGS: '1',
      ...(existsSync(join(cwd, 'multiactive.config.ts'))
        ? {}
        : { MULTIACTIVE_CONFIG: join(ROOT, 'multiactive.config.ts') }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to its end: exit code and output. */
export function runCli(args: readonly string[], cwd = ROOT): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = cli(args, cwd);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** Resolves once `child` has exited, or after `ms` if it is still running (then the caller kills it). */
export function exitWithin(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
