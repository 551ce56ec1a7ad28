import { join } from 'node:path';
import { UsageError } from '../../lib/ops/errors.ts';
import type { ReadinessReport } from '../../lib/ops/readiness.ts';
import { type DrillReport, writeReport } from '../../lib/ops/report/index.ts';
import type { ControlRequest } from '../../lib/sandbox/control/server.ts';
import { readStateFile, stateFilePath } from '../../lib/sandbox/control/state-file.ts';
import { REGION_LOSS_TIMING } from '../../lib/sandbox/demo/figures.ts';
import { runRegionLossDrill } from '../../lib/sandbox/drill/region-loss.ts';
import { type RestoreDrillReport, runRestoreDrill } from '../../lib/sandbox/drill/restore.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { cliApplication } from './application.ts';
import { lineSpinner } from './progress.ts';
import { callSandbox } from './sandbox-target.ts';

/** `readiness`: each check with its reason; exit 1 when not ready. */
export async function readiness(
  json: boolean,
  evaluate: () => Promise<ReadinessReport> = () => callSandbox<ReadinessReport>({ action: 'readiness' }),
): Promise<{ report: ReadinessReport; lines: string[] }> {
  const report = await evaluate();
  const lines = [
    `${report.ready ? 'READY' : 'NOT READY'} for a failover (${report.at})`,
    ...report.checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.title}: ${c.detail}`),
  ];
  return { report, lines: json ? [] : lines };
}

/** `chaos <verb>` as a control request. */
export function chaosRequest(verb: string, args: string[]): ControlRequest {
  const [a, b, c] = args;
  switch (verb) {
    case 'kill-region':
    case 'revive-region':
      return { action: verb, region: a! };
    case 'partition':
      return { action: 'partition', a: a!, b: b! };
    case 'latency': {
      const ms = Number(c);
      if (!(ms >= 0)) throw new UsageError('latency needs a number of ms');
      return { action: 'latency', a: a!, b: b!, ms };
    }
    default:
      return { action: 'heal' };
  }
}

/** `conflicts resolve TYPE ID (--choose EVENTID | --state JSON) [--in R]` as a control request. */
export function resolveRequest(
  type: string,
  id: string,
  options: { choose?: string; state?: string; in?: string },
): ControlRequest {
  if ((options.choose === undefined) === (options.state === undefined))
    throw new UsageError('conflicts resolve needs exactly one of --choose EVENTID and --state JSON');
  let resolution: { choose: string } | { state: unknown };
  try {
    resolution =
      options.choose !== undefined
        ? { choose: options.choose }
        : { state: JSON.parse(options.state!) as unknown };
  } catch {
    throw new UsageError('--state must be JSON');
  }
  const input = { aggregateType: type, aggregateId: id, resolution, resolvedBy: 'cli' };
  return { action: 'conflicts-resolve', ...(options.in ? { region: options.in } : {}), input };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DrillOptions {
  readonly region: string;
  readonly out?: string;
  readonly phaseMs?: number;
  readonly fast?: boolean;
  readonly json?: boolean;
}

/** The drill inside the sandbox that is up, polled to its end (the console shows it live meanwhile). */
async function drillInSandbox(options: DrillOptions, log: (line: string) => void): Promise<DrillReport> {
  const { id } = await callSandbox<{ id: string }>({
    action: 'drill-start',
    region: options.region,
    ...(options.phaseMs ? { phaseMs: options.phaseMs } : {}),
  });
  let from = 0;
  for (;;) {
    const status = await callSandbox<{
      lines: string[];
      nextLine: number;
      done: boolean;
      error?: string;
      reportId?: string;
    }>({ action: 'drill-status', id, fromLine: from });
    for (const line of status.lines) log(line);
    from = status.nextLine;
    if (status.done) {
      if (status.error || !status.reportId) throw new Error(`drill failed: ${status.error ?? 'no report'}`);
      return callSandbox<DrillReport>({ action: 'report', id: status.reportId });
    }
    await sleep(1_000);
  }
}

/** The drill in a sandbox of its own, with the runbooks bench's timers. */
async function drillInOwnSandbox(options: DrillOptions, log: (line: string) => void): Promise<DrillReport> {
  const sandbox = await Sandbox.start({
    application: cliApplication(),
    fast: options.fast !== false,
    timing: REGION_LOSS_TIMING,
    log,
  });
  try {
    const { report } = await runRegionLossDrill(sandbox, {
      region: options.region,
      phaseMs: options.phaseMs ?? 8_000,
      log,
    });
    return report;
  } finally {
    await sandbox.stop();
  }
}

/**
 * `drill region-loss --region R`: in the sandbox that is up (its console shows it live), else in a
 * sandbox of its own with the runbooks bench's timers. Writes report.md/.json/.html.
 */
export async function drillRegionLoss(options: DrillOptions): Promise<{ report: DrillReport; dir: string }> {
  const progress = lineSpinner(
    process.stderr.isTTY === true && !options.json,
    `drill: loss of ${options.region}`,
  );
  const log = (line: string) =>
    process.stderr.isTTY && !options.json ? progress.line(line) : console.error(line);
  const inSandbox = readStateFile() !== undefined;
  const report = inSandbox ? await drillInSandbox(options, log) : await drillInOwnSandbox(options, log);
  const dir = options.out ?? join(stateFilePath(), '..', 'reports', report.id);
  // The sandbox wrote its copy already under .sandbox/reports; another folder gets the files too.
  if (options.out || !inSandbox) writeReport(report, dir);
  progress.done(true, `drill done: ${dir}`);
  return { report, dir };
}

/**
 * `drill restore --region R`: in a sandbox of its own (the restore replaces the region's tables, which a
 * sandbox someone is using should not see): writes, a copy at T, more writes, the region restored to T,
 * Repair from the peers, the consistency check. The lines: phases with timings and the figures.
 */
export async function drillRestore(options: {
  region: string;
  phaseMs?: number;
  repair?: boolean;
  json?: boolean;
}): Promise<{ report: RestoreDrillReport; lines: string[] }> {
  const log = (line: string) => {
    if (!options.json) console.error(line);
  };
  // Checked before a sandbox starts for nothing (it runs the dev topology, as `sandbox up` does).
  const regions = cliApplication()
    .topology('dev')
    .regions.map((r) => r.name);
  if (!regions.includes(options.region))
    throw new UsageError(`unknown region "${options.region}"; the sandbox runs ${regions.join(', ')}`);
  const sandbox = await Sandbox.start({ application: cliApplication(), fast: true, log: () => undefined });
  try {
    const report = await runRestoreDrill(sandbox, {
      region: options.region,
      phaseMs: options.phaseMs ?? 3_000,
      log,
      ...(options.repair === false ? { repair: false } : {}),
    });
    return { report, lines: restoreLines(report) };
  } finally {
    await sandbox.stop();
  }
}

/** The restore drill's summary: phases with their durations, then the figures. */
export function restoreLines(report: RestoreDrillReport): string[] {
  const t = new Date(report.restoredTo).toISOString();
  return [
    `${report.passed ? 'PASS' : 'FAIL'}: ${report.region} restored to ${t}, repaired from ${report.peers.join(', ')}`,
    ...report.phases.map((p) => `  ${String(p.endedAt - p.startedAt).padStart(6)} ms  ${p.name}`),
    `  acknowledged writes: ${report.acknowledged.beforeT} before T, ${report.acknowledged.afterT} after T`,
    `  events lost by the restore: ${report.lostByRestore} (${report.afterTLost} of them acknowledged after T)`,
    `  check before Repair: ${report.checkBeforeRepair.verdict}`,
    `  events repaired: ${report.repaired}, refused: ${report.refused} (Repair ${report.repairStatus}); still missing in ${report.region}: ${report.stillMissing}`,
    `  verifying Repair passes: ${report.verifyingPasses}; ${report.verified ? `nothing lacking, ${report.region} reopened to writes: ${report.writesAfterRepair} acknowledged` : `still lacking, ${report.region} kept closed to writes`}`,
    `  time to converge after the restore: ${report.convergeMs === undefined ? 'did not converge' : `${report.convergeMs} ms`}`,
    `  check: ${report.check.verdict}; acknowledged writes lost: ${report.acknowledgedLost}`,
  ];
}
