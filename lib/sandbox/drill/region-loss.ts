import type { Tier } from '../../config/index.ts';
import { stepsOf } from '../../ops/history.ts';
import {
  type DrillReport,
  type ObjectiveResult,
  type ReportExecution,
  reviewFindings,
} from '../../ops/report/index.ts';
import { lostAfterRecovery, regionLossFigures } from '../demo/figures.ts';
import type { DemoReport } from '../demo/report.ts';
import { runDemo } from '../demo/scenario.ts';
import type { Sandbox } from '../platform/sandbox.ts';

/** One execution of the sandbox, with its steps, for a report. */
export function reportExecution(sandbox: Sandbox, executionArn: string): ReportExecution {
  const described = sandbox.describeExecution(executionArn);
  return {
    runbook: described.stateMachine.replace(/^multiactive-[a-z0-9-]+?-(?=[A-Z])/, ''),
    region: described.region,
    executionArn,
    status: described.status,
    startedAt: Date.parse(described.startDate),
    endedAt: described.stopDate ? Date.parse(described.stopDate) : undefined,
    steps: stepsOf(sandbox.executionHistory(executionArn)),
    error: described.error,
  };
}

function objectives(sandbox: Sandbox, demo: DemoReport): ObjectiveResult[] {
  const lost = lostAfterRecovery(demo);
  const queued = new Set(demo.queuedOrphans ?? []).size;
  return (['core', 'important', 'ordinary'] as const).map((tier: Tier) => {
    const declared = sandbox.topology.objectives[tier];
    const rtoMs = tier === 'core' ? demo.coreRtoMs : demo.rtoMs;
    const rtoSeconds = rtoMs === undefined ? undefined : Math.round(rtoMs / 100) / 10;
    // RPO as lived: acknowledged data that did not come back. Nothing lost is an RPO of 0.
    const rpoSeconds = lost === 0 ? 0 : undefined;
    const notes = [
      `${demo.atRisk} events at risk at the kill, ${demo.recovered} recovered, ${lost} lost`,
      tier === 'core' && queued > 0 ? `${queued} core orphans queued for an operator (kept, not lost)` : '',
    ].filter(Boolean);
    return {
      tier,
      declared,
      rtoSeconds,
      rpoSeconds,
      met: rtoSeconds !== undefined && rtoSeconds <= declared.rtoSeconds && lost === 0,
      note: notes.join('; '),
    };
  });
}

/**
 * The report of a finished region-loss run: phases, every runbook execution step by step, the runbooks
 * bench's figures (same function), objectives, data at risk and the review findings.
 */
export function regionLossReport(sandbox: Sandbox, demo: DemoReport, startedAt: number): DrillReport {
  const endedAt = Date.now();
  const phases = (demo.phases ?? []).map((p, i, all) => ({
    name: `${p.step}. ${p.text.split(' (')[0]!.slice(0, 70)}`,
    startedAt: p.at,
    endedAt: all[i + 1]?.at ?? endedAt,
  }));
  const executions = (demo.executions ?? []).map((arn) => reportExecution(sandbox, arn));
  const figures = regionLossFigures(demo, sandbox.topology);
  const objectiveResults = objectives(sandbox, demo);
  const events = {
    atRisk: demo.atRisk,
    recovered: demo.recovered,
    lost: lostAfterRecovery(demo),
    queuedForOperator: new Set(demo.queuedOrphans ?? []).size,
  };
  const consistency = { passed: demo.check.passed, verdict: demo.check.verdict };
  return {
    id: `region-loss-${demo.lost}-${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}`,
    title: `Drill: loss of ${demo.lost}`,
    env: sandbox.topology.name,
    target: 'sandbox',
    startedAt,
    endedAt,
    phases,
    executions,
    figures,
    objectives: objectiveResults,
    events,
    conflicts: demo.conflicts,
    consistency,
    ...reviewFindings({ executions, figures, objectives: objectiveResults, events, consistency }),
  };
}

/** The scripted game day: load, kill `region`, failover, revive, failback, repair, check; then the report. */
export async function runRegionLossDrill(
  sandbox: Sandbox,
  options: { region: string; phaseMs: number; log: (line: string) => void },
): Promise<{ report: DrillReport; demo: DemoReport }> {
  sandbox.region(options.region);
  const startedAt = Date.now();
  const demo = await runDemo(sandbox, { phaseMs: options.phaseMs, log: options.log, lost: options.region });
  return { report: regionLossReport(sandbox, demo, startedAt), demo };
}
