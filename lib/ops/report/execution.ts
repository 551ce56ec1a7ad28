import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { Figure } from '../figures.ts';
import { outcomeOf, stepsOf } from '../history.ts';
import { type DrillReport, type ReportExecution, reviewFindings } from './model.ts';

/** What a report of one execution is built from: its history (GetExecutionHistory, every page). */
export interface ExecutionReportInput {
  readonly executionArn: string;
  /** `Failover`, `Repair`... (the state machine name's suffix). */
  readonly runbook: string;
  readonly region: string;
  readonly env: string;
  readonly target: DrillReport['target'];
  readonly history: readonly HistoryEvent[];
  /** End of a running execution's timeline (default: now). */
  readonly now?: number;
}

/**
 * The Failover execution's budget in the RTO projection (`failoverSeconds` of lib/ops/objectives.ts):
 * a slower execution makes the projected core RTO wrong, so the report measures against it.
 */
const FAILOVER_BUDGET_MS = 10_000;

const at = (event: HistoryEvent | undefined) => (event?.timestamp ? new Date(event.timestamp).getTime() : 0);

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The execution state at its end: the execution's output, or (failed, or still running) the output of
 * the last top-level state that exited. Every task keeps its result under its own key (`$.findOrphans`).
 */
function finalState(history: readonly HistoryEvent[]): Record<string, unknown> {
  let depth = 0;
  let state: unknown;
  for (const event of history) {
    const type = event.type ?? '';
    if (type === 'MapStateEntered') depth++;
    if (type === 'MapStateExited') depth--;
    if (type === 'ExecutionSucceeded') state = parse(event.executionSucceededEventDetails?.output);
    else if (depth === 0 && type.endsWith('StateExited'))
      state = parse(event.stateExitedEventDetails?.output) ?? state;
  }
  return typeof state === 'object' && state !== null ? (state as Record<string, unknown>) : {};
}

const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const rec = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const reference = (figure: string, value: number, unit: string): Figure => ({
  figure,
  value,
  unit,
  target: 'reference',
  met: null,
});

/** What the tasks of a runbook reported, in the report's terms. */
interface Facts {
  readonly events?: DrillReport['events'];
  readonly conflicts?: DrillReport['conflicts'];
  readonly figures: readonly Figure[];
}

/** Events and conflicts a Failback's tasks reported (orphans found, merged, adopted, queued). */
function failbackFacts(state: Record<string, unknown>): Facts {
  const found = num(rec(state.findOrphans).count);
  const merged = num(rec(state.reconcileImportant).merged);
  const core = rec(state.queueCoreOrphans);
  const adopted = num(core.adopted);
  const queued = Array.isArray(core.queued) ? core.queued.length : 0;
  const retired = num(core.retired);
  const recovered = merged + adopted;
  return {
    events: {
      atRisk: found,
      recovered,
      lost: Math.max(0, found - recovered - queued),
      queuedForOperator: queued,
    },
    conflicts: { detected: queued + retired, resolved: 0, manual: queued + retired },
    figures: [
      reference('orphans found (events only the returning region held)', found, 'events'),
      reference('important and ordinary orphans merged', merged, 'events'),
      reference('core orphans adopted by their home', adopted, 'events'),
      reference('core orphans and retired branch events queued for an operator', queued + retired, 'events'),
    ],
  };
}

/** A Repair's own report (the `Report` task): what differed, what it replayed, what failed. */
function repairFacts(state: Record<string, unknown>): Facts {
  const report = rec(state.report);
  const failed =
    typeof report.partitionsFailedCount === 'number'
      ? report.partitionsFailedCount
      : Array.isArray(report.partitionsFailed)
        ? report.partitionsFailed.length
        : 0;
  const queued = num(report.eventsQueued);
  return {
    conflicts: { detected: queued, resolved: 0, manual: queued },
    figures: [
      reference('partitions checked', num(report.partitionsChecked), 'partitions'),
      reference('partitions differing', num(report.partitionsDiffering), 'partitions'),
      reference('events replayed', num(report.eventsReplayed), 'events'),
      reference('forked core logs settled', num(report.forksSettled), 'aggregates'),
      { figure: 'partitions failed', value: failed, unit: 'partitions', target: '0', met: failed === 0 },
    ],
  };
}

function durationFigure(execution: ReportExecution): Figure | undefined {
  if (execution.endedAt === undefined) return undefined;
  const ms = execution.endedAt - execution.startedAt;
  if (execution.runbook !== 'Failover') return reference(`${execution.runbook} execution`, ms, 'ms');
  return {
    figure: 'Failover execution (the RTO projection budgets it)',
    value: ms,
    unit: 'ms',
    target: `< ${FAILOVER_BUDGET_MS} ms`,
    met: ms < FAILOVER_BUDGET_MS,
  };
}

/**
 * The post-incident report of one runbook execution, from its history alone, so that a sandbox
 * execution and a deployed one give the same document: each step's start and end, the outcome, and
 * what the tasks reported (a Failback's orphans merged, adopted and queued; a Repair's replays), with
 * what went wrong and what to improve.
 * @example writeReport(executionReport({ executionArn, runbook: 'Failback', region, env: 'prod', target: 'aws', history }), dir)
 */
export function executionReport(input: ExecutionReportInput): DrillReport {
  const { history } = input;
  const started = history.find((e) => e.type === 'ExecutionStarted');
  const outcome = outcomeOf(history);
  const execution: ReportExecution = {
    runbook: input.runbook,
    region: input.region,
    executionArn: input.executionArn,
    status: outcome?.status ?? 'RUNNING',
    startedAt: at(started ?? history[0]),
    endedAt: outcome?.at,
    steps: stepsOf(history),
    error: outcome?.error,
  };
  const state = finalState(history);
  const facts: Facts =
    input.runbook === 'Failback'
      ? failbackFacts(state)
      : input.runbook === 'Repair'
        ? repairFacts(state)
        : { figures: [] };
  const duration = durationFigure(execution);
  const report: Omit<DrillReport, 'wentWrong' | 'toImprove'> = {
    id: `${execution.runbook}-${input.executionArn.split(':').pop()}-${execution.startedAt}`,
    title: `${execution.runbook} in ${execution.region}`,
    env: input.env,
    target: input.target,
    startedAt: execution.startedAt,
    endedAt: execution.endedAt ?? input.now ?? Date.now(),
    phases: [],
    executions: [execution],
    figures: [...(duration ? [duration] : []), ...facts.figures],
    objectives: [],
    events: facts.events ?? { atRisk: 0, recovered: 0, lost: 0, queuedForOperator: 0 },
    conflicts: facts.conflicts ?? { detected: 0, resolved: 0, manual: 0 },
    consistency: undefined,
  };
  return { ...report, ...reviewFindings(report) };
}
