export type { Anomaly } from './anomaly.ts';
export { type AccountVerdict, type CoreCheck, checkCoreTier, resolveHistory } from './core-checker.ts';
export { type CoreLogCheck, checkCoreLogs } from './core-log-checker.ts';
export {
  type AckMode,
  type Effects,
  type EffectsInput,
  logOf,
  mapEffects,
  opKeyOf,
  type RegionLoss,
} from './effects.ts';
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
  type WrittenEvent,
} from './history.ts';
export { checkImportantTier, type ImportantCheck, type LwwRegister } from './important-checker.ts';
export {
  checkLinearizable,
  type LinearizabilityOptions,
  type LinearizabilityResult,
} from './linearizable.ts';
export { type AccountModelState, accountModel, type Model, registerModel } from './models.ts';
export { checkReadYourWrites, type RywCheck } from './ryw-checker.ts';
export {
  type RegionSnapshot,
  readSnapshot,
  type SnapshotSource,
  type StoredConflict,
  type StoredEvent,
  type StoredQuarantine,
  type StoredState,
} from './snapshot.ts';
export { checkStranded, type StrandedCheck } from './stranded-checker.ts';
