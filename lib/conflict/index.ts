export { areConcurrent, commonAncestors, concurrentWith, headsOf, sortByHlc, vectorOf } from './causality.ts';
export {
  ArchivedEventInFoldError,
  ConflictError,
  NothingToResolveError,
  ResolutionContentionError,
  StaleResolutionError,
} from './errors.ts';
export {
  canFoldOnTop,
  foldInOrder,
  foldOnTop,
  foldStep,
  type Materialized,
  type MaterializeInput,
  materialize,
} from './materialize.ts';
export {
  CONFLICT_DETECTED,
  CONFLICT_RESOLVED,
  CONFLICT_RESOLVED_VERSION,
  type ConflictResolvedPayload,
  conflictResolvedPayloadSchema,
  isConflictResolved,
} from './platform-events.ts';
export { policyFor } from './policy.ts';
export {
  type ConflictNotifier,
  type ReconcileInput,
  reconcileConflicts,
  recordLwwLosers,
} from './reconcile.ts';
export {
  type ConflictRecord,
  type ConflictRecordPort,
  ConflictRecordStore,
  type ConflictRecordStoreOptions,
  conflictRecordKey,
  OPEN_CONFLICTS_KEY,
} from './record-store.ts';
export {
  CONFLICT_STATUS,
  type ConflictPair,
  type ConflictStatus,
  conflictPairId,
  conflictPairsFor,
  type LwwOutcome,
  lwwOutcome,
} from './records.ts';
export { type ResolveConflictDeps, type ResolveConflictRequest, resolveConflict } from './resolve.ts';
