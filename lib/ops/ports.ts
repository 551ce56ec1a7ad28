import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** The five runbooks (also the suffix of each state machine's name, `multiactive-<env>-<Runbook>`). */
export const RUNBOOKS = ['Switchover', 'Failover', 'Failback', 'Repair', 'ResolveConflict'] as const;
export type Runbook = (typeof RUNBOOKS)[number];

/** An execution as DescribeExecution shows it (dates as epoch ms, input/output parsed). */
export interface ExecutionSummary {
  readonly executionArn: string;
  readonly name: string;
  readonly runbook: string;
  readonly region: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  readonly startDate: number;
  readonly stopDate?: number | undefined;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
}

/** What to start: a runbook in a region with an input, under an idempotent execution name. */
export interface StartRequest {
  readonly runbook: Runbook;
  readonly region: string;
  readonly input: unknown;
  readonly executionName: string;
}

/**
 * Where runbooks run: the sandbox's control endpoint or Step Functions in AWS. Shaped like the Step
 * Functions API (StartExecution, DescribeExecution, GetExecutionHistory) so one follower reads both.
 */
export interface ExecutionPort {
  /** Starts the execution; `existing` when the name was already used (nothing new was started). */
  start(request: StartRequest): Promise<{ executionArn: string; existing: boolean }>;
  describe(executionArn: string): Promise<ExecutionSummary>;
  /** Every history event so far, oldest first. */
  history(executionArn: string): Promise<HistoryEvent[]>;
  /** Recent executions of a runbook in a region, newest first. */
  list?(runbook: Runbook, region: string, max: number): Promise<ExecutionSummary[]>;
}
