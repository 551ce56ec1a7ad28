import '../lib/sandbox/polyfills.ts';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ora from 'ora';
import { startDynamoLocal } from '../lib/sandbox/dynamodb/local.ts';
import { processIamTotals } from '../lib/sandbox/iam/index.ts';
import { type BenchResult, type Figure, formatTable, RESULTS_DIR, writeResult } from './report.ts';
import { runStoreBench } from './store.ts';

type Bench = (options: { endpoint: string; quick?: boolean }) => Promise<Figure[]>;

/** A benchmark that ran a sandbox reports the AWS calls IAM denied in it (target 0) and how many it checked. */
function iamFigures(before: { checked: number; denied: number }): Figure[] {
  const now = processIamTotals();
  const checked = now.checked - before.checked;
  if (checked === 0) return [];
  const denied = now.denied - before.denied;
  return [
    { figure: 'AWS calls checked by IAM (sandbox)', value: checked, unit: 'calls', target: '—', met: null },
    {
      figure: 'AWS calls denied by IAM (sandbox)',
      value: denied,
      unit: 'calls',
      target: '0',
      met: denied === 0,
    },
  ];
}

/** Every benchmark, by the name that `npm run bench -- <name>` takes. */
const BENCHES: Record<string, () => Promise<Bench>> = {
  store: async () => runStoreBench,
  replication: async () => (await import('./replication.ts')).runReplicationBench,
  sandbox: async () => (await import('./sandbox.ts')).runSandboxBench,
  runbooks: async () => (await import('./runbooks.ts')).runRunbookBench,
  repair: async () => (await import('./repair.ts')).runRepairBench,
  switchover: async () => (await import('./switchover.ts')).runSwitchoverBench,
  rpo: async () => (await import('./rpo.ts')).runRpoBench,
  'rpo-five': async () => (await import('./rpo.ts')).runRpoFiveBench,
  transfers: async () => (await import('./transfers.ts')).runTransfersBench,
  snapshots: async () => (await import('./snapshots.ts')).runSnapshotsBench,
  'failover-scale': async () => (await import('./failover-scale.ts')).runFailoverScaleBench,
  quorum: async () => (await import('./quorum.ts')).runQuorumBench,
  cost: async () => (await import('./cost.ts')).runCostBench,
  backlog: async () => (await import('./backlog.ts')).runBacklogBench,
};

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
    return 2;
  }
  process.env.AWS_ACCESS_KEY_ID = 'AKIDLOCAL';
  process.env.AWS_SECRET_ACCESS_KEY = 'local-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const selected = names.length > 0 ? names : Object.keys(BENCHES);
  console.log(`starting DynamoDB Local for ${selected.join(', ')}${quick ? ' (quick)' : ''}...`);
  // `--summary`: rewrite the summary from the results already written (after merging branches' results).
  if (argv.includes('--summary')) return writeSummary();
  const dynamo = await startDynamoLocal();
  try {
    for (const name of selected) {
      console.log(`\n## ${name}`);
      const bench = await BENCHES[name]!();
      const before = processIamTotals();
      const began = Date.now();
      const spinner = ora({ stream: process.stderr, text: `${name}: running` }).start();
      const tick = setInterval(() => {
        spinner.text = `${name}: running for ${Math.round((Date.now() - began) / 1000)} s`;
      }, 1_000);
      const measured = await bench({ endpoint: dynamo.endpoint, quick })
        .catch((error: unknown) => {
          spinner.fail(`${name}: ${(error as Error).message}`);
          throw error;
        })
        .finally(() => clearInterval(tick));
      const figures = [...measured, ...iamFigures(before)];
      spinner.succeed(`${name}: ${figures.length} figures in ${Math.round((Date.now() - began) / 1000)} s`);
      writeResult(name, figures);
      console.log(formatTable(figures));
    }
  } finally {
    await dynamo.stop();
  }
  return writeSummary();
}

function writeSummary(): number {
  // The summary holds the latest result of every benchmark (this run's, and earlier runs' of the others).
  const summary: Figure[] = [];
  const runs: string[] = [];
  for (const name of Object.keys(BENCHES)) {
    const file = join(RESULTS_DIR, `${name}.json`);
    if (!existsSync(file)) continue;
    const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    runs.push(`${name} ${result.at}`);
    summary.push(...result.figures.map((f) => ({ ...f, figure: `${name}: ${f.figure}` })));
  }
  writeResult('summary', summary);
  writeFileSync(
    join(RESULTS_DIR, 'summary.md'),
    `# multiactive benchmarks\n\nLatest run of each: ${runs.join(', ')}.\n\n${formatTable(summary)}\n`,
  );
  const missed = summary.filter((f) => f.met === false);
  console.log(`\n${summary.length} figures, ${missed.length} target(s) missed; results in bench/results/`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
