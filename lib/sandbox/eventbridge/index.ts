export { LocalEventBus, type LocalEventBusOptions } from './bus.ts';
export { DEFAULT_RETRY_POLICY } from './delivery.ts';
export { entrySize, MAX_ENTRIES_PER_CALL, MAX_ENTRY_BYTES } from './entries.ts';
export {
  EventBusClosedError,
  FunctionError,
  InvalidEventPatternError,
  InvalidRuleError,
  LocalEventBridgeError,
  PutEventsValidationError,
} from './errors.ts';
export { type CompiledNode, matchesPattern, validatePattern } from './pattern.ts';
export type {
  AsyncInvokeCondition,
  AsyncInvokePolicy,
  BusTarget,
  EventBridgeEvent,
  EventBusStats,
  PutEventsEntry,
  PutEventsResult,
  PutEventsResultEntry,
  RetryPolicy,
  RuleInput,
} from './types.ts';
