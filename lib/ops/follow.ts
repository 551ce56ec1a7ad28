import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { type ExecutionStep, stepsOf } from './history.ts';
import type { ExecutionPort, ExecutionSummary } from './ports.ts';

/** What a follower sees after each poll. */
export interface ExecutionProgress {
  readonly execution: ExecutionSummary;
  readonly steps: readonly ExecutionStep[];
  readonly history: readonly HistoryEvent[];
}

export interface FollowOptions {
  /** Called after every poll with the steps so far (progress rendering). */
  readonly onProgress?: (progress: ExecutionProgress) => void;
  /** Pause between polls (default 1 s; Step Functions' own console refreshes about as often). */
  readonly intervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Follows an execution to its end by polling DescribeExecution and GetExecutionHistory. There is no
 * overall deadline on purpose: a ten-minute Repair must still report its end (each poll is a short call,
 * so no HTTP client timeout applies to the execution's length).
 */
export async function followExecution(
  port: ExecutionPort,
  executionArn: string,
  options: FollowOptions = {},
): Promise<ExecutionProgress> {
  const sleep = options.sleep ?? defaultSleep;
  for (;;) {
    const execution = await port.describe(executionArn);
    const history = await port.history(executionArn);
    const progress = { execution, steps: stepsOf(history), history };
    options.onProgress?.(progress);
    if (execution.status !== 'RUNNING') return progress;
    await sleep(options.intervalMs ?? 1_000);
  }
}
