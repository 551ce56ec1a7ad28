export {
  InvalidMessageContentsError,
  InvalidQueueSettingError,
  LaneNotDrainedError,
  LocalSqsError,
  type UndrainedQueue,
} from './errors.ts';
export {
  LocalSqsMapping,
  type LocalSqsMappingOptions,
  type MappingStats,
  type PollOutcome,
  type SqsMappingSpec,
} from './mapping.ts';
export {
  LocalQueue,
  type LocalQueueOptions,
  MAX_MESSAGE_BYTES,
  type QueueSpec,
  type QueueStats,
  type ReceivedMessage,
} from './queue.ts';
