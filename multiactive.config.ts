/**
 * The application this checkout runs (`npm start`, the CDK app, the sandbox, the chaos runner, the benches
 * and the CLI read it): the example bank. Point it at your own `defineApp({...})` module, or pass another
 * config with `--config <file>` (CLI) or `-c config=<file>` (CDK).
 */
export { default } from './examples/bank/multiactive.config.ts';
