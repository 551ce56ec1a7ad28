import { resolve } from 'node:path';
import { type Application, CONFIG_FILE, loadApplication } from '../../lib/app/index.ts';
import type { Topology } from '../../lib/config/index.ts';

let loaded:
  | { readonly path: string; readonly application?: Application; readonly error?: unknown }
  | undefined;

/**
 * Loads the application the CLI acts on, once before a command runs: `--config <file>`, else
 * MULTIACTIVE_CONFIG, else `./multiactive.config.ts`. A failure is kept and thrown by the first command
 * that needs the application (commands on a running sandbox do not).
 */
export async function loadCliApplication(config: string | undefined): Promise<void> {
  const path = resolve(config ?? process.env.MULTIACTIVE_CONFIG ?? CONFIG_FILE);
  if (loaded?.path === path) return;
  try {
    loaded = { path, application: await loadApplication(path) };
  } catch (error) {
    loaded = { path, error };
  }
}

/** The application of the config (throws the error that loading it raised: the path and why). */
export function cliApplication(): Application {
  if (!loaded) throw new Error('the application config was not loaded (loadCliApplication)');
  if (loaded.error !== undefined) throw loaded.error;
  return loaded.application as Application;
}

/** The named environment's topology, from the application of the config. */
export function cliTopology(env: string): Topology {
  return cliApplication().topology(env);
}
