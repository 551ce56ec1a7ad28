/**
 * The chaos runner: `npm run chaos -- --seconds N --seed S`. Writes bench/results/chaos-<seed>.json and
 * prints the report; exit code 0 only when no anomaly was found. MULTIACTIVE_TEST_DISABLE_FENCING=1
 * runs a deliberately broken build (no fencing) to show the checkers catch it.
 */
import '../lib/sandbox/polyfills.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bugsFromList } from '../lib/faults/index.ts';
import { formatChaosReport, runChaos } from '../lib/sandbox/chaos/index.ts';
import { RESULTS_DIR } from './report.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    quiet: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const seed = Number(values.seed);
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error('usage: npm run chaos -- --seconds N --seed S');
  process.exit(2);
}
const report = await runChaos({
  seconds,
  seed,
  disableFencing: process.env.MULTIACTIVE_TEST_DISABLE_FENCING === '1',
  bugs: bugsFromList(process.env.MULTIACTIVE_TEST_BUGS),
  log: values.quiet ? () => {} : (line) => console.log(line),
});
mkdirSync(RESULTS_DIR, { recursive: true });
const broken = `${report.fencingDisabled ? '-nofence' : ''}${report.bugs.length > 0 ? '-bugs' : ''}`;
const file = join(RESULTS_DIR, `chaos-${seed}${broken}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(formatChaosReport(report));
console.log(`report: ${file}`);
process.exit(report.passed ? 0 : 1);
