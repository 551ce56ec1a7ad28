import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dev } from '../../../examples/bank/envs/dev.ts';
import { account, activity, profile, transfer } from '../../../examples/bank/index.ts';
import { ApplicationConfigError, defineApp, isApplication, loadApplication } from '../../../lib/app/index.ts';
import { ConfigError, UnknownEnvironmentError } from '../../../lib/config/index.ts';
import { BANK_CONFIG } from '../../support/bank.ts';

const dir = mkdtempSync(join(tmpdir(), 'multiactive-app-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const appModule = pathToFileURL(join(import.meta.dirname, '../../../lib/app/index.ts')).href;

/** A config module in the temporary directory, with `body` after an import of defineApp. */
function configFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { defineApp } from '${appModule}';\n${body}\n`);
  return file;
}

function issuesOf(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error('expected the definition to be refused');
}

describe('defineApp', () => {
  it("adds each saga's own aggregate and validates every environment", () => {
    const app = defineApp({
      name: 'bank',
      aggregates: [account, profile, activity],
      sagas: [transfer],
      environments: { dev },
    });
    expect(isApplication(app)).toBe(true);
    expect(app.aggregates.map((a) => a.name)).toEqual(['account', 'profile', 'activity', 'transfer']);
    expect(app.topology('dev').regions).toHaveLength(3);
    expect(() => app.topology('prod')).toThrow(UnknownEnvironmentError);
    expect(() => app.topology('prod')).toThrow('known environments: dev');
  });

  it('refuses a configured type the code lacks, or with another tier, by its path', () => {
    expect(issuesOf(() => defineApp({ name: 'bank', aggregates: [account], environments: { dev } }))).toEqual(
      [expect.stringMatching(/^environments\.dev\.aggregates: .*profile/)],
    );
    const moved = { ...dev, aggregates: dev.aggregates.map((a) => ({ ...a, tier: 'core' as const })) };
    expect(
      issuesOf(() =>
        defineApp({
          name: 'bank',
          aggregates: [account, profile, activity],
          sagas: [transfer],
          environments: { dev: moved },
        }),
      ),
    ).toEqual([
      'environments.dev.aggregates: aggregate "profile" is important-tier in code but core in config',
    ]);
  });

  it('refuses a shape that is not an application, listing every problem', () => {
    const input = { name: '', aggregates: [], environments: {} } as never;
    expect(issuesOf(() => defineApp(input))).toEqual([
      'name: Too small: expected string to have >=1 characters',
      'aggregates: must list the aggregate definitions (defineAggregate)',
      'environments: must name at least one environment',
    ]);
    expect(
      issuesOf(() => defineApp({ name: 'x', aggregates: [account, account], environments: { dev } })),
    ).toEqual(['aggregates[1]: duplicate aggregate "account"']);
  });

  it('refuses an environment listed under another name than its own', () => {
    expect(
      issuesOf(() =>
        defineApp({
          name: 'bank',
          aggregates: [account, profile, activity],
          sagas: [transfer],
          environments: { staging: dev },
        }),
      ),
    ).toEqual(['environments.staging.name: must be "staging" (the key it is listed under)']);
  });
});

describe('loadApplication', () => {
  it('loads the example bank from its config module and remembers the module', async () => {
    const app = await loadApplication(BANK_CONFIG);
    expect(app.name).toBe('bank');
    expect(app.module).toBe(BANK_CONFIG);
    expect(app.sagas.map((s) => s.name)).toEqual(['transfer']);
  });

  it('names the path it looked at when the config is missing', async () => {
    const missing = join(dir, 'nowhere', 'multiactive.config.ts');
    await expect(loadApplication(missing)).rejects.toThrow(ApplicationConfigError);
    await expect(loadApplication(missing)).rejects.toThrow(
      `cannot read the application config ${missing}: no such file`,
    );
  });

  it('names the path when the module fails to load or exports no application', async () => {
    const broken = configFile('broken.config.ts', "import './no-such-module.ts';");
    await expect(loadApplication(broken)).rejects.toThrow(
      `cannot read the application config ${broken}: it failed to load`,
    );
    const empty = configFile('empty.config.ts', 'export const x = 1;');
    await expect(loadApplication(empty)).rejects.toThrow(
      `invalid configuration ${empty}:\n  default: no default export`,
    );
  });

  it('validates a plain object export with zod and names the file and the path of each problem', async () => {
    const file = configFile(
      'plain.config.ts',
      "export default { name: 'x', aggregates: 'account', environments: { dev: { name: 'dev' } } };",
    );
    const error = await loadApplication(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`invalid configuration ${file}:`);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['aggregates']);
  });
});
