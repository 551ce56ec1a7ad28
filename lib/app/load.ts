import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config/index.ts';
import { type Application, type ApplicationInput, defineApp, inputOf, isApplication } from './define.ts';
import { ApplicationConfigError } from './errors.ts';

/** The file a project's application config lives in, at its root. */
export const CONFIG_FILE = 'multiactive.config.ts';

/**
 * Imports an application config module (`export default defineApp({...})`, or the plain input object) and
 * validates it; a missing file, a module that fails to load, or an invalid definition throws an error
 * naming the absolute path it looked at.
 * @example const app = await loadApplication('multiactive.config.ts'); app.topology('dev')
 */
export async function loadApplication(path: string): Promise<Application> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ApplicationConfigError(file, 'no such file');
  let exported: unknown;
  try {
    exported = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  } catch (error) {
    // A module that calls defineApp itself throws its ConfigError while it loads: name the file.
    if (error instanceof ConfigError && error.message.startsWith('invalid configuration (inline)'))
      throw new ConfigError(file, error.issues, { cause: error });
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApplicationConfigError(file, `it failed to load: ${reason}`, { cause: error });
  }
  if (exported === undefined)
    throw new ConfigError(file, [
      { path: 'default', message: 'no default export; export default defineApp({...})' },
    ]);
  return defineApp(isApplication(exported) ? inputOf(exported) : (exported as ApplicationInput), file);
}
