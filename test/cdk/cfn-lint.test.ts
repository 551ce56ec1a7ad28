import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shippedTemplates } from '../support/templates.ts';
import { ACCEPTED_WARNINGS, cfnLint, type Finding } from './support/cfn-lint.ts';

describe('cfn-lint over every synthesized template of dev and prod', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-cfn-lint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports no error, and only warnings accepted with a reason', async () => {
    const files: string[] = [];
    for (const env of ['dev', 'prod'] as const) {
      for (const [name, template] of Object.entries((await shippedTemplates(env)).templates)) {
        const file = join(dir, `${name}.template.json`);
        writeFileSync(file, JSON.stringify(template, null, 1));
        files.push(file);
      }
    }
    // Per environment: three foundations, three cells, the global stack.
    expect(files).toHaveLength(14);
    const findings = await cfnLint(files);
    const describe = (f: Finding) =>
      `${f.Rule.Id} ${f.Filename.slice(dir.length + 1)} ${f.Location.Path.join('/')}: ${f.Message}`;
    expect(findings.filter((f) => f.Level === 'Error').map(describe)).toEqual([]);
    expect(findings.filter((f) => !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describe)).toEqual([]);
  }, 600_000);
});
