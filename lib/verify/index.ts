export type { Anomaly } from './anomaly.ts';
export { type CoreCheck, checkCoreTier } from './core-checker.ts';
export { checkFencing, type FencingCheck } from './fencing-checker.ts';
export {
  byKey,
  EVENT_TYPES,
  type EventType,
  type HistoryEvent,
  HistoryRecorder,
  type Operation,
  type OperationName,
  pairOperations,
} from './history.ts';
export { checkImportantTier, type ImportantCheck, type LwwRegister } from './important-checker.ts';
export {
  checkLinearizable,
  type LinearizabilityOptions,
  type LinearizabilityResult,
} from './linearizable.ts';
export { type AccountModelState, accountModel, type Model, registerModel } from './models.ts';
export {
  type RegionSnapshot,
  readSnapshot,
  type SnapshotSource,
  type StoredEvent,
  type StoredQuarantine,
  type StoredState,
} from './snapshot.ts';
export { checkStranded, type StrandedCheck } from './stranded-checker.ts';
export { checkTransfers, type TransferCheck, type TransferCheckInput } from './transfer-checker.ts';
