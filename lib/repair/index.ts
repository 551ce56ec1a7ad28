export {
  bucketOf,
  buildMerkleTree,
  diffBuckets,
  type EventLeaf,
  type MerkleTree,
  type RowLeaf,
  rootOf,
  treeOfBucketHashes,
} from './merkle.ts';
export { DynamoPartitionSource, type PartitionEventSource } from './partition-source.ts';
export { planReplay, type ReplayPlan } from './plan.ts';
export {
  type PartitionRepairReport,
  type RepairPartitionOptions,
  type RepairRunReport,
  type ReplayInto,
  repairPartition,
  repairPartitions,
  replayLanes,
  replayOrder,
  summarize,
} from './repair.ts';
export { rebuildRow, rowDigest, rowOfLog } from './rows.ts';
