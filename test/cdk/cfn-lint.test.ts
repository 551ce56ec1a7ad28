import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shippedTemplates } from '../support/templates.ts';
import { ACCEPTED_WARNINGS, cfnLint, type Finding } from './support/cfn-lint.ts';

/**
 * world's stacks: the global one, and the foundation and cell of a region dev and prod do not have. Its
 * other cells differ from that one only by region names (the same peers' count), so linting them too would
 * add minutes for nothing.
 */
const WORLD_STACKS = [
  'multiactive-world-ap-northeast-1-foundation',
  'multiactive-world-ap-northeast-1',
  'multiactive-world-global',
];

describe('cfn-lint over every synthesized template of dev and prod, and the five-region world', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-cfn-lint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports no error, and only warnings accepted with a reason', async () => {
    const files: string[] = [];
    for (const env of ['dev', 'prod', 'world'] as const) {
      for (const [name, template] of Object.entries((await shippedTemplates(env)).templates)) {
        if (env === 'world' && !WORLD_STACKS.includes(name)) continue;
        const file = join(dir, `${name}.template.json`);
        writeFileSync(file, JSON.stringify(template, null, 1));
        files.push(file);
      }
    }
    // dev and prod: three foundations, three cells, the global stack each; world: the three above.
    expect(files).toHaveLength(17);
    const findings = await cfnLint(files);
    const describe = (f: Finding) =>
      `${f.Rule.Id} ${f.Filename.slice(dir.length + 1)} ${f.Location.Path.join('/')}: ${f.Message}`;
    expect(findings.filter((f) => f.Level === 'Error').map(describe)).toEqual([]);
    expect(findings.filter((f) => !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describe)).toEqual([]);
  }, 600_000);
});
