export { type ApplierDeps, type ApplyOutcome, type ApplyReplicatedEvent, createApplier } from './applier.ts';
export {
  type ApplyReplicatedBatch,
  type BatchApplyReport,
  createBatchApplier,
  type LaneFallback,
  type LaneRecord,
  laneRecordsOf,
} from './apply-batch.ts';
export { applyCore, type CoreApplyDeps, type CoreApplyResult } from './apply-core.ts';
export {
  applyMaterialized,
  type MaterializedApplyDeps,
  type MaterializedApplyResult,
} from './apply-materialized.ts';
export { type CoreDrainDeps, settleParked } from './core-drain.ts';
export {
  CONFLICT_SOURCE,
  chunkEntries,
  DEFAULT_MAX_ENTRY_BYTES,
  entrySize,
  MAX_ENTRIES_PER_CALL,
  REPLICATION_SOURCE,
  toBusEntry,
} from './entries.ts';
export {
  ApplyContentionError,
  EntryTooLargeError,
  GapFetchError,
  InvalidStreamRecordError,
  POISON_REASONS,
  PoisonEventError,
  type PoisonReason,
  PublishFailedError,
  ReplicationError,
  RowCatchUpError,
} from './errors.ts';
export {
  type BusConflictNotifierOptions,
  busConflictNotifier,
  type EventBridgeBusOptions,
  eventBridgeBus,
} from './eventbridge.ts';
export {
  HEARTBEAT_AGGREGATE,
  HEARTBEAT_SORT_KEY,
  HEARTBEAT_TYPE,
  HeartbeatWriter,
  type HeartbeatWriterOptions,
  heartbeatEnvelope,
  isHeartbeat,
  unpublishedFrom,
} from './heartbeat.ts';
export { type HomeRowDeps, type HomeRows, homeRowCatchUp } from './home-rows.ts';
export {
  type LagMonitorDeps,
  type LagMonitorTick,
  type LagReading,
  runLagMonitor,
  runLagMonitorTick,
} from './lag-monitor.ts';
export {
  backOffFailed,
  type LaneVisibility,
  queueUrlOf,
  type RetriedRecord,
  retryChanges,
  retryDelaySeconds,
  sqsLaneVisibility,
  type VisibilityChange,
} from './lane-retry.ts';
export { eventStoreOriginReader } from './origin-reader.ts';
export {
  GAP_SORT_KEY,
  PARKED_INDEX_KEY,
  type ParkedAggregate,
  ParkingStore,
  type ParkingStoreOptions,
  parkingKey,
} from './parking.ts';
export {
  type BusEntry,
  NO_METRICS,
  type OriginReader,
  type PutEventsOutcome,
  type ReplicationBus,
  type ReplicationMetrics,
  type SeqRange,
} from './ports.ts';
export { powertoolsReplicationMetrics } from './powertools-metrics.ts';
export {
  DynamoPublishHolds,
  PUBLISH_HOLD_KEY,
  type PublishHold,
  type PublishHolds,
} from './publish-holds.ts';
export {
  type PublisherOptions,
  type PublishFailure,
  type PublishReport,
  publishStreamRecords,
} from './publisher.ts';
export {
  QUARANTINE_COUNTER,
  type QuarantineEntry,
  type QuarantinePort,
  QuarantineStore,
  type QuarantineStoreOptions,
  quarantineId,
} from './quarantine.ts';
export {
  failedEventOf,
  isRedriveBatch,
  REDRIVE_QUEUE_SUFFIX,
  REDRIVE_TIME_MARGIN_MS,
  type RedriveDeps,
  type RedriveRecord,
  type RedriveReport,
  redriveBatchItemFailures,
  redriveFailedInvocations,
} from './redrive.ts';
export { peerLagMs, ReplicationWatermarks, type ReplicationWatermarksOptions } from './routing-adapters.ts';
export {
  type OriginStatus,
  type ReplicationStatus,
  type ReplicationStatusDeps,
  replicationStatus,
} from './status.ts';
export { type ParkedSweepDeps, type ParkedSweepReport, sweepParked } from './sweeper.ts';
export { type ValidatedEvent, type ValidationContext, validateIncoming } from './validate.ts';
export {
  lagMs,
  WATERMARK_KEY,
  type Watermark,
  WatermarkStore,
  type WatermarkStoreOptions,
} from './watermarks.ts';
