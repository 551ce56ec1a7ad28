import type { RunbookDeps, RunbookTask } from './ports.ts';

/** Not implemented yet: every task of this runbook fails with RunbookTaskNotImplemented. */
export function resolveConflictTasks(_deps: RunbookDeps): Record<string, RunbookTask> {
  return {};
}
