export { type AppendWithStateInput, appendWithState } from './append-with-state.ts';
export { ARCHIVED_ATTRIBUTE, archivedThrough, isArchivedStub, needsBase } from './archived-stub.ts';
export { type QuorumMarker, quorumMarkerKey, quorumMarkerPut, readQuorumMarkers } from './copy-markers.ts';
export { coreMarkerKey, coreMarkerPuts, readCoreMarkers } from './core-markers.ts';
export { createTableInput, createTables } from './create-tables.ts';
export {
  AppendTimeoutError,
  ArchivedStubAppendError,
  ConcurrencyError,
  CoreMarkersNotConfiguredError,
  EventTooLargeError,
  GuardFailedError,
  isTransactionConflict,
  StateVersionConflictError,
  StoreError,
  TooManyEventsError,
} from './errors.ts';
export {
  type AppendGuard,
  type AppendOptions,
  type AppendResult,
  EventStore,
  type EventStoreOptions,
  type LoadOptions,
  MAX_TRANSACTION_ITEMS,
} from './event-store.ts';
export { aggregateKey, eventSortKey, partitionIndexKey } from './keys.ts';
export { fromEventItem, fromRawEventItem, toEventItem } from './marshal.ts';
export {
  type ExpectedRow,
  guardedStatePut,
  type StateRecord,
  StateStore,
  type StateStoreOptions,
} from './state-store.ts';
export {
  EVENTS_BY_PARTITION_INDEX,
  STATE_BY_DUE_INDEX,
  TABLE_DEFINITIONS,
  TABLE_KINDS,
  type TableDefinition,
  type TableKind,
  tableName,
  tableNames,
} from './tables.ts';
