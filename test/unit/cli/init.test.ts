import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDependency, initLines, initProject, packageNameOf } from '../../../bin/cli/init.ts';
import { UsageError } from '../../../lib/ops/errors.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'multiactive-init-unit-'));
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));

describe('initProject', () => {
  it('fills in the name and the dependency in every file and leaves no placeholder', () => {
    const dir = join(scratch(), 'Team Ledger');
    const result = initProject(dir, { from: 'file:../multi "active"' });
    expect(result.name).toBe('team-ledger');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      dependencies: Record<string, string>;
    };
    expect(pkg).toMatchObject({
      name: 'team-ledger',
      dependencies: { multiactive: 'file:../multi "active"' },
    });
    for (const file of filesUnder(dir)) expect(readFileSync(file, 'utf8')).not.toContain('{{');
    expect(result.files).toContain('.gitignore');
    expect(result.files).not.toContain('gitignore');
    expect(result.files).toHaveLength(filesUnder(dir).length);
  });

  it('writes into an existing empty directory', () => {
    const dir = scratch();
    expect(initProject(dir, { name: 'shop' }).files).toContain('multiactive.config.ts');
  });

  it('refuses a directory that is not empty and writes nothing into it', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(() => initProject(dir)).toThrow(UsageError);
    expect(() => initProject(dir)).toThrow(/is not empty \(1 entry, e\.g\. notes\.txt\)/);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses a path that is a file, and a name npm refuses', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'file'), '');
    expect(() => initProject(join(dir, 'file'))).toThrow('exists and is not a directory');
    expect(() => initProject(join(dir, 'x'), { name: 'Bad Name' })).toThrow(UsageError);
  });

  it('prints the files and the next commands, with cd only when the project is elsewhere', () => {
    const parent = scratch();
    mkdirSync(join(parent, 'app'));
    const result = initProject(join(parent, 'app'));
    const lines = initLines(result, parent);
    expect(lines[0]).toMatch(/^wrote \d+ files to /);
    expect(lines).toContain('  cd app');
    expect(lines.some((l) => l.startsWith('  npm install && npm start'))).toBe(true);
    expect(initLines(result, join(parent, 'app'))).not.toContain('  cd app');
  });
});

describe('names and dependency', () => {
  it('derives an npm name from the directory', () => {
    expect(packageNameOf('/x/My App!')).toBe('my-app');
    expect(packageNameOf('/x/.hidden')).toBe('hidden');
    expect(packageNameOf('/x/___')).toBe('my-app');
  });

  it('depends on the published range from an installed package, on the checkout from a checkout', () => {
    const installed = join(scratch(), 'node_modules', 'multiactive');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ version: '1.2.3' }));
    expect(defaultDependency(installed)).toBe('^1.2.3');
    const checkout = scratch();
    writeFileSync(join(checkout, 'package.json'), JSON.stringify({ version: '1.2.3' }));
    expect(defaultDependency(checkout)).toBe(`file:${checkout}`);
  });
});
