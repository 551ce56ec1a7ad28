import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The console's three files: the page, its bundle (preact, htm, Chart.js) and its stylesheet. */
export interface ConsoleAssets {
  readonly html: string;
  readonly js: string;
  readonly css: string;
}

let built: Promise<ConsoleAssets> | undefined;

/** Bundles the console once per process with esbuild (~0.3 s) and keeps it in memory. */
export function consoleAssets(): Promise<ConsoleAssets> {
  built ??= (async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(import.meta.dirname, 'app', 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      legalComments: 'none',
    });
    return {
      html: readFileSync(join(import.meta.dirname, 'index.html'), 'utf8'),
      js: result.outputFiles[0]!.text,
      css: readFileSync(join(import.meta.dirname, 'console.css'), 'utf8'),
    };
  })();
  return built;
}

/** The console file a GET path names (`/`, `/console.js`, `/console.css`), or undefined. */
export async function consoleAsset(path: string): Promise<{ type: string; body: string } | undefined> {
  const assets = await consoleAssets();
  if (path === '/' || path === '/index.html') return { type: 'text/html; charset=utf-8', body: assets.html };
  if (path === '/console.js') return { type: 'text/javascript; charset=utf-8', body: assets.js };
  if (path === '/console.css') return { type: 'text/css; charset=utf-8', body: assets.css };
  return undefined;
}
