import { join } from 'node:path';
import { CONFIG_FILE, loadApplication } from '../lib/app/index.ts';
import { PROJECT_ROOT } from '../lib/sandbox/cdk/templates.ts';

/**
 * The application the benches run: the project's `multiactive.config.ts`, or the config that
 * MULTIACTIVE_CONFIG names. Their workloads drive the example bank's commands (accounts, transfers).
 */
export const benchApplication = await loadApplication(
  process.env.MULTIACTIVE_CONFIG ?? join(PROJECT_ROOT, CONFIG_FILE),
);
