/**
 * Synthesizes every stack of one environment of an application in-process (esbuild bundling skipped) and
 * writes `{ "<stack name>": <template> }` as JSON to the file named by the second argument. Run by the
 * sandbox in a child process, so aws-cdk-lib's memory goes away with it:
 * `node --import tsx bin/synth-templates.ts dev out.json [multiactive.config.ts]`; MULTIACTIVE_TEST_BUGS=a,b
 * builds with those bug switches on (the sandbox passes the ones it has on).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { unbundledContext } from '../cdk/app-context.ts';
import { MultiActiveApp } from '../cdk/multi-active-app.ts';
import { CONFIG_FILE, loadApplication } from '../lib/app/index.ts';
import { bugsFromList, enableBugs } from '../lib/faults/index.ts';

const [env = 'dev', out, config = CONFIG_FILE] = process.argv.slice(2);
if (!out) {
  console.error('usage: synth-templates.ts <env> <out.json> [config]');
  process.exit(2);
}
// The bug switches the sandbox that asked for these templates has on (the proof suite only).
enableBugs(bugsFromList(process.env.MULTIACTIVE_TEST_BUGS));
const app = new App({ context: unbundledContext() });
const stacks = new MultiActiveApp(app, 'MultiActive', {
  application: await loadApplication(config),
  environment: env,
});
const assembly = app.synth();
const names = [...Object.values(stacks.foundation), ...Object.values(stacks.regional), stacks.global].map(
  (s) => s.stackName,
);
const templates = Object.fromEntries(names.map((name) => [name, assembly.getStackByName(name).template]));
// Written aside and renamed: test files synthesizing the same environment in parallel never read half a file.
const partial = `${out}.${process.pid}.partial`;
writeFileSync(partial, JSON.stringify(templates));
renameSync(partial, out);
