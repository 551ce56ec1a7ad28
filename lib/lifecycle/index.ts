export {
  ARCHIVE_GETS_IN_FLIGHT,
  ARCHIVE_INDEX_SEGMENT,
  type ArchiveReadOptions,
  aggregateIdOfKey,
  archivableEvents,
  archiveDate,
  archiveIndexKey,
  archiveKey,
  archiveObjects,
  dataKeyOfIndex,
  decodeArchive,
  encodeArchive,
  eventTime,
  indexArchive,
  indexKeyOfData,
  isArchiveIndexKey,
  mergeHistory,
  readArchivedEvents,
  seqRangeOfKey,
} from './archive.ts';
export { archiveBucketArn, archiveBucketName, hasRetention } from './archive-bucket.ts';
export { type ArchiveStore, archivePrefix, LocalDirectoryArchive } from './archive-store.ts';
export { type ArchiveRun, type ArchiverDeps, archiveAggregate, type PeerWatermarks } from './archiver.ts';
export { type CoreFoldSources, coreLogFolder, type FoldBases, foldArchiveAware } from './core-fold.ts';
export {
  ArchiveCorruptError,
  ArchiverConfigError,
  ArchiverNotHomeError,
  ArchiveVerificationError,
  ForkBelowArchiveError,
  HistoryIncompleteError,
  LifecycleError,
} from './errors.ts';
export {
  foldedContent,
  foldFromSnapshot,
  foldFullLog,
  foldLatest,
  SNAPSHOTS_TRIED,
  type SnapshotFold,
  type SnapshotRejection,
} from './fold.ts';
export { type HomeOf, type LocalHomeOptions, localHomeOf } from './home.ts';
export { fullHistory, type LoadDeps, type LoadedAggregate, loadAggregate } from './load.ts';
export { type PeerTables, peerWatermarks } from './peers.ts';
export { pastRetention, retentionHorizon } from './retention.ts';
export { S3ArchiveStore, type S3ArchiveStoreOptions, s3RegionArchives } from './s3-archive-store.ts';
export {
  confirmedSnapshot,
  recordOfSnapshot,
  SNAPSHOT_FORMAT,
  type Snapshot,
  snapshotDue,
  snapshotOf,
  snapshotSortKey,
  stateVersionOf,
} from './snapshot.ts';
export { SnapshotStore, type SnapshotStoreOptions } from './snapshot-store.ts';
export { type CoreAppendLanded, type SnapshotWriterOptions, snapshotWriter } from './snapshot-writer.ts';
export {
  ARCHIVE_STOP_MARGIN_MS,
  type ArchivePassCursor,
  type ArchiveSweepInput,
  type ArchiveSweepReport,
  archiveSweep,
  PASS_CURSOR_KEY,
} from './sweep.ts';
