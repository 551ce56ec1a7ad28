import type { Tier } from '../../config/index.ts';
import type { Figure } from '../figures.ts';
import type { ExecutionStep } from '../history.ts';

/** One runbook execution in a report: its steps with start and end. */
export interface ReportExecution {
  readonly runbook: string;
  readonly region: string;
  readonly executionArn: string;
  readonly status: string;
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  readonly steps: readonly ExecutionStep[];
  readonly error?: string | undefined;
}

/** Measured recovery of one tier against its declared objective. */
export interface ObjectiveResult {
  readonly tier: Tier;
  readonly declared: { rtoSeconds: number; rpoSeconds: number };
  readonly rtoSeconds: number | undefined;
  readonly rpoSeconds: number | undefined;
  readonly met: boolean;
  readonly note: string;
}

/**
 * A post-incident review document: a drill (game day) or one runbook execution. Rendered as Markdown,
 * JSON (this object) and a self-contained HTML page with a timeline chart.
 */
export interface DrillReport {
  readonly id: string;
  readonly title: string;
  readonly env: string;
  readonly target: 'sandbox' | 'aws';
  readonly startedAt: number;
  readonly endedAt: number;
  /** Scenario phases (kill, detection, failover...) as a timeline. */
  readonly phases: ReadonlyArray<{ name: string; startedAt: number; endedAt: number }>;
  readonly executions: readonly ReportExecution[];
  /** Figures in the benchmark shape (for a region-loss drill: exactly the runbooks bench's figures). */
  readonly figures: readonly Figure[];
  readonly objectives: readonly ObjectiveResult[];
  readonly events: { atRisk: number; recovered: number; lost: number; queuedForOperator: number };
  readonly conflicts: { detected: number; resolved: number; manual: number };
  readonly consistency: { passed: boolean; verdict: string } | undefined;
  readonly wentWrong: readonly string[];
  readonly toImprove: readonly string[];
}

/** What went wrong and what to improve, derived from a report's facts (pure). */
export function reviewFindings(input: {
  readonly executions: readonly ReportExecution[];
  readonly figures: readonly Figure[];
  readonly objectives: readonly ObjectiveResult[];
  readonly events: DrillReport['events'];
  readonly consistency: DrillReport['consistency'];
}): { wentWrong: string[]; toImprove: string[] } {
  const wentWrong: string[] = [];
  const toImprove: string[] = [];
  for (const execution of input.executions) {
    if (execution.status !== 'SUCCEEDED')
      wentWrong.push(
        `${execution.runbook} in ${execution.region} ended ${execution.status}${execution.error ? ` (${execution.error})` : ''}`,
      );
    for (const step of execution.steps.filter((s) => s.status === 'failed'))
      wentWrong.push(`${execution.runbook} step ${step.name} failed: ${step.error ?? 'error'}`);
    const loops = execution.steps.filter((s) => s.visits > 5);
    for (const step of loops)
      toImprove.push(
        `${execution.runbook} polled ${step.name} ${step.visits} times: check replication lag before moving partitions`,
      );
  }
  for (const figure of input.figures.filter((f) => f.met === false))
    wentWrong.push(`${figure.figure}: ${figure.value} ${figure.unit}, target ${figure.target}`);
  for (const objective of input.objectives.filter((o) => !o.met))
    wentWrong.push(`${objective.tier} objective missed: ${objective.note}`);
  if (input.events.lost > 0) wentWrong.push(`${input.events.lost} events at risk were not recovered`);
  if (input.events.queuedForOperator > 0)
    toImprove.push(
      `${input.events.queuedForOperator} core orphans wait in the manual conflict queue: resolve them (console or \`multiactive conflicts\`), or use core.ack quorum`,
    );
  if (input.consistency && !input.consistency.passed)
    wentWrong.push(`consistency check: ${input.consistency.verdict}`);
  if (wentWrong.length === 0)
    wentWrong.push('nothing: every execution succeeded, every target and objective was met');
  if (toImprove.length === 0)
    toImprove.push("no action found by the automatic review; add the team's own notes");
  return { wentWrong, toImprove };
}
