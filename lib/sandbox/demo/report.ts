import { formatIamReport, type IamReport } from '../iam/index.ts';
import type { ConsistencyReport } from '../platform/consistency.ts';
import type { LinkLag } from '../platform/lag-recorder.ts';
import type { WriteTally } from './clients.ts';

/** Everything the demo measured. */
export interface DemoReport {
  readonly regions: readonly string[];
  readonly lost: string;
  readonly tally: WriteTally;
  readonly lag: readonly LinkLag[];
  readonly conflicts: { detected: number; resolved: number; manual: number };
  /** Kill to the GTM (Route 53 checks) marking the lost region unhealthy. */
  readonly detectionMs: number | undefined;
  /** Kill to a watchdog starting the Failover of the lost region, and the region it started in. */
  readonly failoverStartedMs?: number | undefined;
  readonly failoverStartedIn?: string | undefined;
  readonly rtoMs: number | undefined;
  /** Kill to the first successful core write for a partition homed in the lost region. */
  readonly coreRtoMs?: number | undefined;
  /** Duration of the Failover execution. */
  readonly failoverMachineMs?: number | undefined;
  readonly atRisk: number;
  readonly recovered: number;
  /** Events at risk that are not in every region after failback + repair. */
  readonly unrecovered?: readonly string[];
  /** Core orphans (ack local) Failback put in the manual conflict queue: kept there, not lost. */
  readonly queuedOrphans?: readonly string[];
  readonly runbooks: readonly string[];
  /** ARNs of the Failover, Failback and Repair executions, in that order. */
  readonly executions?: readonly string[];
  /** When each of the nine steps began (epoch ms). */
  readonly phases?: ReadonlyArray<{ step: number; text: string; at: number }>;
  readonly killedAt?: number;
  readonly check: ConsistencyReport;
  /** AWS calls IAM checked and denied over the demo (the synthesized roles and resource policies). */
  readonly iam?: IamReport;
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${Math.round(v)} ms`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

/** The final report of `npm start`, as printable lines. */
export function formatReport(report: DemoReport): string[] {
  const tiers = ['core', 'important', 'ordinary'];
  const writes = [['events written', ...tiers, 'total']];
  for (const region of report.regions) {
    const counts = tiers.map((t) => report.tally.events.get(`${region}|${t}`) ?? 0);
    writes.push([`  ${region}`, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]);
  }
  const lag = [['replication lag', 'p50', 'p99', 'samples']];
  for (const link of report.lag) {
    lag.push([`  ${link.from} -> ${link.to}`, ms(link.p50Ms), ms(link.p99Ms), String(link.samples)]);
  }
  const refused = [...report.tally.refused.entries()].map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
  const { detected, resolved, manual } = report.conflicts;
  return [
    '',
    '=== multiactive sandbox report ===',
    ...table(writes),
    `refused writes: ${refused}`,
    ...table(lag),
    `conflicts: detected ${detected}, resolved ${resolved}, manual ${manual}`,
    `failover (${report.lost} lost): detection ${ms(report.detectionMs)}, RTO ${ms(report.rtoMs)}`,
    `  Failover started by the watchdog of ${report.failoverStartedIn ?? 'n/a'} after ${ms(report.failoverStartedMs)}`,
    `  core RTO (partitions homed in ${report.lost}) ${ms(report.coreRtoMs)}, Failover state machine ${ms(report.failoverMachineMs)}`,
    `RPO: events at risk at failover ${report.atRisk}, recovered at failback ${report.recovered}`,
    ...report.runbooks.map((r) => `runbook: ${r}`),
    `consistency check: ${report.check.verdict}`,
    ...report.check.diverged.slice(0, 5).map((d) => `  differs: ${d.key} ${JSON.stringify(d.byRegion)}`),
    ...(report.iam ? formatIamReport(report.iam) : []),
  ];
}
