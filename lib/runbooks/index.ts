export { type AwsRunbookDepsOptions, awsRunbookDeps } from './aws-deps.ts';
export { type SettledAggregate, settleCoreAggregate, winningBranch } from './core-branches.ts';
export { type CoreOrphanOutcome, settleCoreOrphans } from './core-orphans.ts';
export {
  chooseNewHomes,
  confirmLoss,
  type LossConfirmation,
  type LossVote,
  type PlannedMove,
  voteOn,
} from './decisions.ts';
export { createRunbookDispatcher, RUNBOOK_TASKS, type RunbookRequest } from './dispatch.ts';
export {
  ConflictNotFoundError,
  FenceDeadlineError,
  InvalidRunbookInputError,
  NoEligibleHomeError,
  NoFailoverRecordError,
  ProbeFailedError,
  RollbackRefusedError,
  RunbookError,
  RunbookTaskNotImplementedError,
  SwitchoverStateError,
  UnknownRunbookTaskError,
} from './errors.ts';
export {
  closeFailoverRecord,
  type FailoverRecord,
  failoverRecordKey,
  openFailoverRecord,
  readFailoverRecord,
} from './failover-record.ts';
export { movePartition, readAllEntries } from './failover-tasks.ts';
export {
  buildTrees,
  differingBuckets,
  findForkedAggregates,
  healPartition,
  type PartitionTrees,
  REPAIR_BUCKETS,
  type ReplayReport,
  replayBuckets,
} from './heal.ts';
export { type BranchRules, branchRules, forkedAggregates } from './heal-branches.ts';
export { mapBounded } from './input.ts';
export type { RegionCell, RegionObservation, RunbookDeps, RunbookTask } from './ports.ts';
export {
  REPAIR_STAGES,
  type RepairStage,
  repairStageTotals,
  resetRepairStageTotals,
  type StageTotal,
} from './repair-timings.ts';
export { type ConflictResolution, resolveConflictTasks } from './resolve-tasks.ts';
export { type SwitchoverMove, type SwitchoverRequest, switchoverRequest } from './switchover-plan.ts';
export { type RollbackMove, type RollbackOutcome, rollbackMove } from './switchover-rollback.ts';
export { FENCE_WINDOW, fenceMayStillRun } from './switchover-tasks.ts';
