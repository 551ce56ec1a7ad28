import { bugEnabled } from '../faults/index.ts';
import { ownEntry } from '../model/own-property.ts';
import { RunbookTaskNotImplementedError, UnknownRunbookTaskError } from './errors.ts';
import { failbackTasks } from './failback-tasks.ts';
import { failoverTasks } from './failover-tasks.ts';
import type { RunbookDeps, RunbookTask } from './ports.ts';
import { repairTasks } from './repair-tasks.ts';
import { resolveConflictTasks } from './resolve-tasks.ts';
import { ResultSpill } from './spill.ts';
import { switchoverTasks } from './switchover-tasks.ts';

/** What a runbook Lambda task receives (cdk/constructs/runbooks/runbook-task.ts). */
export interface RunbookRequest {
  readonly runbook: string;
  readonly task: string;
  readonly input: unknown;
}

/** Task names of each runbook as the state machines call them (see cdk/constructs/runbooks/). */
export const RUNBOOK_TASKS = {
  switchover: [
    'Fence',
    'CheckWatermark',
    'MoveHome',
    'Unfence',
    'VerifyProbe',
    'CheckOtherTiers',
    'Rollback',
  ],
  failover: [
    'ConfirmRegionLost',
    'ChooseNewHomes',
    'FencePartitions',
    'CollectCopies',
    'BumpEpochs',
    'DrainRegion',
    'RecordWatermarks',
  ],
  failback: [
    'CatchUp',
    'FindOrphans',
    'ReconcileImportant',
    'QueueCoreOrphans',
    'SwitchBackFence',
    'SwitchBackCheckWatermark',
    'SwitchBackMoveHome',
    'SwitchBackUnfence',
    'SwitchBackCheckOtherTiers',
    'SwitchBackRollback',
    'Undrain',
  ],
  repair: ['ListPartitions', 'BuildTrees', 'Diff', 'Replay', 'Report'],
  'resolve-conflict': ['LoadConflict', 'AppendResolution'],
} as const;

/**
 * Tasks whose results grow with the partitions they touch: a big result is kept in the control table and
 * the state carries a stub (spill.ts); their machines read only scalars of results (Choice states). Not
 * Repair's ListPartitions (its Map iterates over the list), Replay (an iteration's output, which the Map
 * gathers for Report; a group's is a few sums) nor Report (kept small: readiness reads it).
 */
const SPILLING_TASKS: Readonly<Record<string, 'all' | readonly string[]>> = {
  failover: 'all',
  switchover: 'all',
  failback: 'all',
  repair: ['BuildTrees', 'Diff'],
};

function spills(runbook: string, task: string): boolean {
  const tasks = ownEntry<'all' | readonly string[]>(SPILLING_TASKS, runbook);
  return tasks === 'all' || (tasks?.includes(task) ?? false);
}

/**
 * The runbook function's logic: dispatches `{ runbook, task, input }` to the task and returns its JSON
 * result (kept by the state machine at `$.<task>`); throws to fail the task.
 * @example const run = createRunbookDispatcher(deps); await run({ runbook: 'repair', task: 'ListPartitions', input: {} });
 */
export function createRunbookDispatcher(deps: RunbookDeps) {
  const tasks: Record<string, Record<string, RunbookTask>> = {
    switchover: switchoverTasks(deps),
    failover: failoverTasks(deps),
    failback: failbackTasks(deps),
    repair: repairTasks(deps),
    'resolve-conflict': resolveConflictTasks(deps),
  };
  return async function runTask(request: RunbookRequest): Promise<Record<string, unknown>> {
    const known = ownEntry<readonly string[]>(RUNBOOK_TASKS, request.runbook);
    if (!known?.includes(request.task)) throw new UnknownRunbookTaskError(request.runbook, request.task);
    const byTask = ownEntry(tasks, request.runbook);
    const task = byTask ? ownEntry(byTask, request.task) : undefined;
    if (!task) throw new RunbookTaskNotImplementedError(request.runbook, request.task);
    const raw = typeof request.input === 'object' && request.input !== null ? request.input : {};
    const spill = new ResultSpill(deps.cell(deps.region), deps.now);
    const result = await task(await spill.load(raw as Record<string, unknown>));
    const spilled = spills(request.runbook, request.task) && !bugEnabled('failover-results-inline');
    return spilled ? spill.store(result) : result;
  };
}
