import { fileURLToPath } from 'node:url';

/** The example bank's application config (the tests' application; the templates are synthesized from it). */
export const BANK_CONFIG = fileURLToPath(
  new URL('../../examples/bank/multiactive.config.ts', import.meta.url),
);
