export { type ApplierOwnershipOptions, applierOwnership } from './applier-ownership.ts';
export { partitionCaughtUp, type RegionLog } from './catch-up.ts';
export {
  DynamoControlReplica,
  type DynamoControlReplicaOptions,
  REGISTER_SORT_KEY,
} from './dynamodb-replica.ts';
export {
  DrainTimeoutError,
  EntryChangedError,
  EpochConflictError,
  InvalidTransitionError,
  LeaseExpiredError,
  NotHomeError,
  OwnershipError,
  PartitionFencedError,
  QuorumUnavailableError,
  StaleEpochError,
} from './errors.ts';
export { CUT_SORT_KEY_PREFIX, cutGuard, cutKey, type FailoverCut, writeCuts } from './failover-cut.ts';
export { localFenceGuard } from './fence-guard.ts';
export {
  FENCING_DEFAULTS,
  type FencingBudget,
  type FencingBudgetIssue,
  fencingBudgetIssues,
  holdMs,
  writePathRequestHandler,
  writeWindows,
} from './fencing-budget.ts';
export {
  type HotPartitionInput,
  type HotPartitionReport,
  hotPartitionReport,
  type MoveSuggestion,
  RequestCounter,
} from './hot-partitions.ts';
export { PartitionOwnership, type PartitionOwnershipOptions } from './ownership.ts';
export { partitionOf } from './partition.ts';
export {
  type ChangeOutcome,
  type FenceReason,
  nextPartitionValue,
  PARTITION_STATES,
  type PartitionChange,
  type PartitionEntry,
  PartitionMap,
  type PartitionMapOptions,
  type PartitionState,
  type PartitionValue,
  type PlannedChange,
  partitionKey,
  toEntry,
} from './partition-map.ts';
export {
  BATCH_ROUND_KEYS,
  type CasOutcome,
  type CasProposal,
  type ConflictResolver,
  QuorumRegister,
  type QuorumRegisterOptions,
} from './quorum-register.ts';
export {
  decidedRecord,
  type ReadRound,
  type RegisterRecord,
  replicaAccepts,
  sameProposal,
  topCandidates,
} from './register-record.ts';
export {
  type CatchUpCheck,
  changedBy,
  fenceEntry,
  fencePartition,
  moveHomeConfirmed,
  movePartitionHome,
  type RehomeOptions,
  type RehomeReport,
  rehomePartition,
  restorePartition,
  sameEntry,
  takeOverFence,
  unfencePartition,
} from './rehome.ts';
export {
  type ControlReplica,
  InMemoryControlReplica,
  type ReplicaWrite,
  readFromReplica,
  type WriteOutcome,
  writeToReplica,
} from './replica.ts';
