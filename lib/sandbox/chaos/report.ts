import { formatIamReport } from '../iam/index.ts';
import type { ChaosReport } from './run.ts';

/** The report as text: verdict, figures, faults, anomalies and how to reproduce. */
export function formatChaosReport(report: ChaosReport): string {
  const lines = [
    `=== chaos run: seed ${report.seed}, ${report.seconds} s${report.fencingDisabled ? ', FENCING DISABLED (test build)' : ''} ===`,
    `operations: ${report.operations.total} (ok ${report.operations.ok}, fail ${report.operations.fail}, info ${report.operations.info})`,
    `faults injected (${report.faults.length}):`,
    ...report.faults.flatMap((f) => [
      `  +${(f.at / 1000).toFixed(1)}s..${(f.healedAt / 1000).toFixed(1)}s ${f.kind} ${f.target}`,
      ...(f.runbooks ?? []).map(
        (r) =>
          `      runbook ${r.runbook} in ${r.region} at +${(r.at / 1000).toFixed(1)}s: ${r.status}` +
          `${r.durationMs === undefined ? '' : ` after ${(r.durationMs / 1000).toFixed(1)}s`}${r.error ? ` (${r.error})` : ''}`,
      ),
    ]),
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
    `verdict: ${report.passed ? 'PASS' : 'FAIL'} — reproduce with: npm run chaos -- --seconds ${report.seconds} --seed ${report.seed}`,
  ];
  return lines.join('\n');
}
