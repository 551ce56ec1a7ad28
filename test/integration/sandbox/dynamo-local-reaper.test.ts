import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The JVM's pid, printed by the fixture once DynamoDB Local answers. */
function firstLine(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim().split('\n')[0]));
    });
    child.once('exit', (code) =>
      reject(new Error(`fixture exited (${code}) before DynamoDB Local was up: ${out}`)),
    );
  });
}

describe('DynamoDB Local started by the sandbox', () => {
  it('stops with the Node process that started it, even one killed without stop() (SIGKILL)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'hold-dynamo-local.ts')],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const jvm = await firstLine(child);
    expect(jvm).toBeGreaterThan(0);
    expect(alive(jvm)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (alive(jvm) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const survived = alive(jvm);
    if (survived) process.kill(jvm, 'SIGKILL'); // leave nothing behind either way
    expect(survived).toBe(false);
  }, 120_000);
});
