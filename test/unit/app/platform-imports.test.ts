import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The platform: what a team installs and never edits. */
const PLATFORM = ['lib', 'functions', 'cdk'];
/** Where applications live: the example domains (events/samples holds AWS event fixtures only). */
const APPLICATIONS = ['events', 'examples'];

/** Every module specifier of a source: static imports and re-exports, side-effect and dynamic imports. */
function specifiersOf(source: string): string[] {
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1] as string));
}

/** The imports of `file` (with `source`) that reach into an application's folder. */
function domainImports(file: string, source: string): string[] {
  return specifiersOf(source)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(dirname(file), specifier)))
    .filter((target) => APPLICATIONS.some((dir) => target === dir || target.startsWith(`${dir}/`)));
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourcesUnder(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('the platform takes the application as an input', () => {
  it('finds an import of the example domain, static, dynamic or re-exported', () => {
    const file = join(ROOT, 'lib', 'sandbox', 'platform', 'x.ts');
    expect(domainImports(file, "import { account } from '../../../events/index.ts';")).toEqual([
      'events/index.ts',
    ]);
    expect(domainImports(file, "export * from '../../../examples/bank/index.ts';")).toEqual([
      'examples/bank/index.ts',
    ]);
    expect(domainImports(file, "const m = await import('../../../examples/bank/account.ts');")).toEqual([
      'examples/bank/account.ts',
    ]);
    expect(domainImports(file, "import { x } from '../../model/index.ts';")).toEqual([]);
  });

  it('has no module in lib/, functions/ or cdk/ that imports an application', () => {
    const found = PLATFORM.flatMap((dir) =>
      sourcesUnder(join(ROOT, dir)).flatMap((file) =>
        domainImports(file, readFileSync(file, 'utf8')).map(
          (target) => `${relative(ROOT, file)} -> ${target}`,
        ),
      ),
    );
    expect(found).toEqual([]);
  });
});
