/**
 * The chaos runner: `npm run chaos -- [--config <file>] [--env dev|prod] --seconds N --seed S`, on the
 * application of `multiactive.config.ts` (`--config` or MULTIACTIVE_CONFIG=<file> names another; an
 * application with a chaos plug-in brings its own workload and checker). Writes
 * bench/results/chaos-<env>-<seed>.json and prints the report; exit code 0 only when no anomaly was found
 * and every account's history was decided. Test builds: MULTIACTIVE_TEST_DISABLE_FENCING=1 (no fencing)
 * and MULTIACTIVE_TEST_BUGS=a,b (bug switches of lib/faults) show that the checkers catch a broken build.
 */
import '../lib/sandbox/polyfills.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadApplication } from '../lib/app/index.ts';
import { bugsFromList } from '../lib/faults/index.ts';
import { formatChaosReport, runChaos } from '../lib/sandbox/chaos/index.ts';
import { benchApplication } from './application.ts';
import { RESULTS_DIR } from './report.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    env: { type: 'string', default: 'dev' },
    seconds: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    clients: { type: 'string' },
    accounts: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const seed = Number(values.seed);
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error(
    'usage: npm run chaos -- [--config <file>] [--env dev|prod] --seconds N --seed S [--clients per-region] [--accounts N] [--history]',
  );
  process.exit(2);
}
const bugs = bugsFromList(process.env.MULTIACTIVE_TEST_BUGS);
const startedAt = Date.now();
const report = await runChaos({
  seconds,
  seed,
  application: values.config ? await loadApplication(values.config) : benchApplication,
  env: values.env,
  ...(values.clients ? { clientsPerRegion: Number(values.clients) } : {}),
  ...(values.accounts ? { accounts: Number(values.accounts) } : {}),
  disableFencing: process.env.MULTIACTIVE_TEST_DISABLE_FENCING === '1',
  bugs,
  keepHistory: values.history,
  log: values.quiet
    ? () => {}
    : (line) => console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${line}`),
});
mkdirSync(RESULTS_DIR, { recursive: true });
const variant = [
  ...(report.fencingDisabled ? ['nofence'] : []),
  ...(report.bugs.length > 0 ? [`bugs-${report.bugs.join('+')}`] : []),
];
const app = report.application && report.application !== 'bank' ? `${report.application}-` : '';
const file = join(
  RESULTS_DIR,
  `chaos-${app}${report.env}-${seed}${variant.map((v) => `-${v}`).join('')}.json`,
);
const { history, ...summary } = report;
writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
if (history) writeFileSync(file.replace(/\.json$/, '.history.json'), `${JSON.stringify(history)}\n`);
console.log(formatChaosReport(report));
console.log(`report: ${file}`);
process.exit(report.passed ? 0 : 1);
