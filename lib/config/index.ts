export { ConfigError, type ConfigIssue, UnknownEnvironmentError } from './errors.ts';
export { placeholdersOf } from './placeholders.ts';
export {
  type AggregateConfig,
  type ApiAuthConfig,
  type BackupConfig,
  backupSchema,
  CONFLICT_POLICIES,
  type ConflictPolicy,
  GTM_POLICIES,
  type LifecycleConfig,
  lifecycleSchema,
  type Objectives,
  type OrdinaryLaneConfig,
  objectivesSchema,
  ordinaryLaneSchema,
  type RegionConfig,
  TIERS,
  type Tier,
  type Topology,
  type TopologyInput,
  topologySchema,
} from './schema.ts';
export {
  aggregateConfig,
  backupCopyRegion,
  latencyBetween,
  majorityOf,
  nearestRegions,
  peersOf,
  regionNames,
} from './topology.ts';
export { defineTopology, formatPath, parseTopology } from './validate.ts';
