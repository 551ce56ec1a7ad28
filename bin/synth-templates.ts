/**
 * Synthesizes every stack of one environment in-process (esbuild bundling skipped) and writes
 * `{ "<stack name>": <template> }` as JSON to the file named by the second argument. Run by the sandbox
 * in a child process, so aws-cdk-lib's memory goes away with it: `node --import tsx bin/synth-templates.ts dev out.json`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { unbundledContext } from '../cdk/app-context.ts';
import { createEnvironment } from '../cdk/stacks/environment.ts';
import { loadTopology } from '../lib/config/index.ts';

const [env = 'dev', out] = process.argv.slice(2);
if (!out) {
  console.error('usage: synth-templates.ts <env> <out.json>');
  process.exit(2);
}
const app = new App({ context: unbundledContext() });
const stacks = createEnvironment(app, loadTopology(env));
const assembly = app.synth();
const names = [...Object.values(stacks.foundation), ...Object.values(stacks.regional), stacks.global].map(
  (s) => s.stackName,
);
const templates = Object.fromEntries(names.map((name) => [name, assembly.getStackByName(name).template]));
// Written aside and renamed: test files synthesizing the same environment in parallel never read half a file.
const partial = `${out}.${process.pid}.partial`;
writeFileSync(partial, JSON.stringify(templates));
renameSync(partial, out);
