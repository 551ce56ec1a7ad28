import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cfnLint } from './support/cfn-lint.ts';

/**
 * cfn-lint's findings are kept by what was linted (cfn-lint's version, the files' names and bytes): a kept
 * verdict must never stand for a template that changed since.
 */
const dir = mkdtempSync(join(tmpdir(), 'multiactive-cfn-lint-cache-'));
const cacheDir = join(dir, 'cache');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A queue whose retention is out of range (E3034) when `seconds` is over 1,209,600. */
const template = (seconds: number) =>
  JSON.stringify({
    Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: seconds } } },
  });

function write(sub: string, text: string): string {
  mkdirSync(join(dir, sub), { recursive: true });
  const file = join(dir, sub, 'queue.template.json');
  writeFileSync(file, text);
  return file;
}

const ids = (findings: Awaited<ReturnType<typeof cfnLint>>) => findings.map((f) => f.Rule.Id);

describe('cfnLint keeps its findings by what it linted', () => {
  it('serves the same files again from the cache, under the paths given now; lints a changed file again', async () => {
    const bad = write('a', template(2_000_000));
    const first = await cfnLint([bad], cacheDir);
    expect(ids(first)).toContain('E3034');
    expect(readdirSync(cacheDir)).toHaveLength(1);

    // The same bytes under another directory: the kept findings, naming the new path.
    const again = write('b', template(2_000_000));
    const second = await cfnLint([again], cacheDir);
    expect(second).toEqual(first.map((f) => ({ ...f, Filename: again })));
    expect(readdirSync(cacheDir)).toHaveLength(1);

    // Fixed: linted again (a second entry), and clean.
    const fixed = write('a', template(345_600));
    expect(await cfnLint([fixed], cacheDir)).toEqual([]);
    expect(readdirSync(cacheDir)).toHaveLength(2);

    // Broken again the same way: the first verdict, from the cache.
    expect(ids(await cfnLint([write('a', template(2_000_000))], cacheDir))).toContain('E3034');
    expect(readdirSync(cacheDir)).toHaveLength(2);
  }, 60_000);
});
