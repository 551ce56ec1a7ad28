export { type BatchPolicy, type BatchRuntime, processBatch, type StreamHandlerResult } from './batch.ts';
export { BatchItemFailuresError, StreamNotFoundError, StreamPollerError } from './errors.ts';
export { StreamPoller, type StreamPollerOptions, type StreamPollerStats } from './poller.ts';
export { type RecordSource, toLambdaAttributeValue, toLambdaRecord } from './records.ts';
export { isReadable, listShards, resolveStreamArn } from './shards.ts';
