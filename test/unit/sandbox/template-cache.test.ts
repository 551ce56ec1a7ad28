import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  importClosure,
  loadTemplates,
  PROJECT_ROOT,
  sourceFingerprint,
} from '../../../lib/sandbox/cdk/templates.ts';

/**
 * The .sandbox/cdk cache is shared by every test file and the sandbox: a template served from it after a
 * change of anything the stacks read would make the tests lie. These tests build a small project of their
 * own (a synthesizer that imports a construct that imports a lib module, and a config module) and change
 * one file at a time.
 */
let root: string;
const topology = bank.topology('dev');
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};

/**
 * A synthesizer in the real one's place: counts its runs and writes `{}` for every stack, or one resource
 * named after the bug switches it was given (MULTIACTIVE_TEST_BUGS) when any.
 */
const FAKE_SYNTH = `import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { NAME } from '../cdk/stack.ts';
const [, out] = process.argv.slice(2);
const bugs = process.env.MULTIACTIVE_TEST_BUGS ?? '';
appendFileSync(new URL('../runs.log', import.meta.url), NAME + (bugs ? ' ' + bugs : '') + '\\n');
await new Promise((done) => setTimeout(done, 300));
const resources = bugs ? { Broken: { Type: bugs } } : {};
writeFileSync(out + '.partial', JSON.stringify({ [NAME]: { Resources: resources } }));
renameSync(out + '.partial', out);
`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'multiactive-template-cache-'));
  write('bin/synth-templates.ts', FAKE_SYNTH);
  write(
    'cdk/stack.ts',
    "import { TABLE } from '../lib/store/tables.ts';\nexport const NAME = 'stack-' + TABLE;\n",
  );
  write(
    'lib/store/tables.ts',
    "import type { Kind } from './kinds';\nexport const TABLE: Kind = 'events';\n",
  );
  write('lib/store/kinds.ts', "export type Kind = 'events' | 'state';\n");
  write('lib/unrelated/index.ts', 'export const X = 1;\n');
  write('app/config.ts', "export { SAGAS } from './sagas/index.ts';\n");
  write('app/sagas/index.ts', 'export const SAGAS = [];\n');
  write('cdk.json', '{}\n');
  write('package.json', '{ "type": "module" }\n');
  // The synthesizer runs as `node --import tsx` in the project.
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('the synthesized-template cache key', () => {
  it("follows the synthesizer's and the config's imports, transitively (index.ts and extension-less too)", () => {
    const files = importClosure([join(root, 'bin/synth-templates.ts'), join(root, 'app/config.ts')]).map(
      (f) => f.slice(root.length + 1),
    );
    expect(files).toEqual([
      'app/config.ts',
      'app/sagas/index.ts',
      'bin/synth-templates.ts',
      'cdk/stack.ts',
      'lib/store/kinds.ts',
      'lib/store/tables.ts',
    ]);
  });

  it('changes with any imported file, the config, cdk.json or the topology; not with a file nobody imports', () => {
    const key = () => sourceFingerprint(topology, root, 'app/config.ts');
    const before = key();
    write('lib/unrelated/index.ts', 'export const X = 2;\n');
    expect(key()).toBe(before);
    for (const [file, text] of [
      ['lib/store/kinds.ts', "export type Kind = 'events' | 'state' | 'control';\n"],
      ['app/sagas/index.ts', "export const SAGAS = ['transfer'];\n"],
      ['cdk.json', '{ "context": {} }\n'],
    ] as const) {
      const was = key();
      const original = readFileSync(join(root, file), 'utf8');
      write(file, text);
      expect(key(), file).not.toBe(was);
      write(file, original);
      expect(key(), file).toBe(was);
    }
    expect(sourceFingerprint(bank.topology('prod'), root, 'app/config.ts')).not.toBe(before);
  });

  it('covers the real CDK app: every lib/ module its stacks import is in the key', () => {
    const files = importClosure([join(PROJECT_ROOT, 'bin/synth-templates.ts')]).map((f) =>
      f.slice(PROJECT_ROOT.length + 1),
    );
    for (const file of [
      'cdk/stacks/regional-stack.ts',
      'lib/lifecycle/archive-bucket.ts',
      'lib/faults/switches.ts',
      'lib/ops/scheduled-readiness.ts',
      'lib/replication/entries.ts',
    ])
      expect(files).toContain(file);
  });
});

describe('loadTemplates', () => {
  it('synthesizes once for files asking at the same time, then serves the cache; again after a change', async () => {
    const cacheDir = join(root, '.sandbox', 'cdk');
    const load = () =>
      loadTemplates({ topology, config: 'app/config.ts', stackNames: ['stack-events'], cacheDir, root });
    const runs = () => readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n');
    const first = await Promise.all([load(), load(), load()]);
    expect(runs()).toEqual(['stack-events']);
    expect(first.map((r) => r.source).sort()).toEqual(['cache', 'cache', 'synth']);
    expect(first.map((r) => r.templates)).toEqual(
      [0, 1, 2].map(() => ({ 'stack-events': { Resources: {} } })),
    );
    expect((await load()).source).toBe('cache');
    expect(readdirSync(cacheDir).filter((f) => !f.endsWith('.json'))).toEqual([]); // no lock left behind

    write(
      'lib/store/tables.ts',
      "import type { Kind } from './kinds';\nexport const TABLE: Kind = 'state';\n",
    );
    await expect(load()).rejects.toThrow('synthesized app has no stack stack-events');
    expect(runs()).toEqual(['stack-events', 'stack-state']);
  });

  it('synthesizes with the bug switches on, under their own key: the sound templates are not served to a broken build', async () => {
    write(
      'lib/store/tables.ts',
      "import type { Kind } from './kinds';\nexport const TABLE: Kind = 'events';\n",
    );
    const cacheDir = join(root, '.sandbox', 'cdk-bugs');
    const load = () =>
      loadTemplates({ topology, config: 'app/config.ts', stackNames: ['stack-events'], cacheDir, root });
    const resources = (r: Awaited<ReturnType<typeof load>>) => r.templates['stack-events']?.Resources;
    const before = readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n').length;
    const runs = () => readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n').slice(before);
    // A switch named in this process's environment but not turned on is not passed on.
    const parentEnv = process.env.MULTIACTIVE_TEST_BUGS;
    process.env.MULTIACTIVE_TEST_BUGS = 'lane-queues-deleted';
    try {
      const sound = await load();
      expect([sound.source, resources(sound)]).toEqual(['synth', {}]);
    } finally {
      if (parentEnv === undefined) delete process.env.MULTIACTIVE_TEST_BUGS;
      else process.env.MULTIACTIVE_TEST_BUGS = parentEnv;
    }
    const broken = await withBug('applier-failures-not-redriven', load);
    expect([broken.source, resources(broken)]).toEqual([
      'synth',
      { Broken: { Type: 'applier-failures-not-redriven' } },
    ]);
    expect((await load()).source).toBe('cache');
    expect(resources(await load())).toEqual({});
    const again = await withBug('applier-failures-not-redriven', load);
    expect([again.source, resources(again)]).toEqual([
      'cache',
      { Broken: { Type: 'applier-failures-not-redriven' } },
    ]);
    expect(runs()).toEqual(['stack-events', 'stack-events applier-failures-not-redriven']);
  });
});
