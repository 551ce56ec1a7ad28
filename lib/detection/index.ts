export {
  type ClaimAction,
  claimAction,
  type FailoverClaim,
  failoverClaimKey,
  failoverExecutionName,
} from './failover-claim.ts';
export {
  classifyHealthAnswer,
  type ProbeResult,
  type ProbeVerdict,
  probeHealth,
} from './health-probe.ts';
export {
  DynamoObservationStore,
  type Observation,
  type ObservationStore,
  observationKey,
} from './observations.ts';
export {
  AWS_ASSUMPTIONS,
  type ChainTerm,
  failoverStartMs,
  projectRegionLossRto,
  type RtoProjection,
} from './projection.ts';
export {
  staleHeartbeatMs,
  tickThroughWindow,
  type WatchdogSettings,
  watchdogSettings,
} from './settings.ts';
export { type FailoverStart, type PeerReport, Watchdog, type WatchdogDeps } from './watchdog.ts';
