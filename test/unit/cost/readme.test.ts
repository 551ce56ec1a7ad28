import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCliApplication } from '../../../bin/cli/application.ts';
import { costCommand } from '../../../bin/cli/cost.ts';
import { ROOT } from '../../e2e/cli.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

// The command reads the application as the CLI loads it before an action (`--config`).
beforeAll(() => loadCliApplication(BANK_CONFIG));

describe("the README's worked example", () => {
  it('is what `multiactive cost --env prod` prints, figure for figure', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /<!-- cost:prod -->\n```text\n([\s\S]*?)\n```\n<!-- \/cost:prod -->/.exec(readme)?.[1];
    expect(block, 'the README has the block').toBeDefined();
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const { lines } = await costCommand({ env: 'prod' });
      expect(lines.join('\n')).toBe(block);
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);

  it('gives what transfers cost as `multiactive cost --env prod --sagas transfer=10` prints it', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block =
      /<!-- cost:prod-transfers -->\n```text\n([\s\S]*?)\n```\n<!-- \/cost:prod-transfers -->/.exec(
        readme,
      )?.[1];
    expect(block, 'the README has the block').toBeDefined();
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const { lines } = await costCommand({ env: 'prod', sagas: { transfer: 10 } });
      expect(lines).toContain(block);
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);
});
