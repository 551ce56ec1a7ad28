import { relative } from 'node:path';
import { formatIamReport } from '../iam/index.ts';
import type { ChaosReport } from './run.ts';

/** How to run the same chaos run again (environment variables, env, seconds, seed). */
export function reproduceCommand(report: ChaosReport): string {
  const vars = [
    ...(report.fencingDisabled ? ['MULTIACTIVE_TEST_DISABLE_FENCING=1'] : []),
    ...(report.bugs.length > 0 ? [`MULTIACTIVE_TEST_BUGS=${report.bugs.join(',')}`] : []),
  ];
  const config = report.config ? `--config ${relative(process.cwd(), report.config) || report.config} ` : '';
  return `${vars.length > 0 ? `${vars.join(' ')} ` : ''}npm run chaos -- ${config}--env ${report.env} --seconds ${report.seconds} --seed ${report.seed}`;
}

/** The report as text: verdict, figures, faults, anomalies and how to reproduce. */
export function formatChaosReport(report: ChaosReport): string {
  const build = [
    ...(report.fencingDisabled ? ['FENCING DISABLED (test build)'] : []),
    ...(report.bugs.length > 0 ? [`BUG SWITCHES ON: ${report.bugs.join(', ')}`] : []),
  ];
  const lines = [
    `=== chaos run: ${report.application ?? 'application'}${report.workload ? ` (workload ${report.workload})` : ''}, env ${report.env} (core.ack ${report.ackMode}), seed ${report.seed}, ${report.seconds} s${build.length > 0 ? `, ${build.join(', ')}` : ''} ===`,
    `operations: ${report.operations.total} (ok ${report.operations.ok}, fail ${report.operations.fail}, info ${report.operations.info})`,
    `faults injected (${report.faults.length}):`,
    ...report.faults.flatMap((f) => [
      `  +${(f.at / 1000).toFixed(1)}s..${(f.healedAt / 1000).toFixed(1)}s ${f.kind} ${f.target}`,
      ...(f.runbooks ?? []).map(
        (r) =>
          `      runbook ${r.runbook} in ${r.region} at +${(r.at / 1000).toFixed(1)}s: ${r.status}` +
          `${r.durationMs === undefined ? '' : ` after ${(r.durationMs / 1000).toFixed(1)}s`}${r.error ? ` (${r.error})` : ''}` +
          (r.status === 'SUCCEEDED' ? '' : (r.taskErrors ?? []).map((t) => `\n        task ${t}`).join('')),
      ),
    ]),
    ...report.runbooksAfterRun.map(
      (r) =>
        `  after the run: ${r.runbook} of ${String(r.input.region)} in ${r.region}: ${r.status}${r.error ? ` (${r.error})` : ''}`,
    ),
    ...(report.faultsNotInjected.length > 0
      ? [`not injected (TODO): ${report.faultsNotInjected.join(', ')}`]
      : []),
    ...report.figures.map((f) => `  ${f.figure}: ${f.value}${f.met === false ? '  <-- NOT MET' : ''}`),
    ...(report.iam ? formatIamReport(report.iam) : []),
    `anomalies (${report.anomalies.length}):`,
    ...report.anomalies
      .slice(0, 30)
      .map((a) => `  [${a.checker}/${a.kind}] ${a.key ?? ''} ${a.region ? `@${a.region} ` : ''}${a.message}`),
    ...(report.anomalies.length > 30 ? [`  ... ${report.anomalies.length - 30} more in the JSON`] : []),
    `verdict: ${report.passed ? 'PASS' : 'FAIL'} — reproduce with: ${reproduceCommand(report)}`,
  ];
  return lines.join('\n');
}
