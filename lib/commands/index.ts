export { type QuorumMarker, quorumMarkerKey, readQuorumMarkers } from '../store/copy-markers.ts';
export { type ConflictQueue, coreBranchRetirer } from './branch-retirer.ts';
export { type CoreHead, chainedRun, extendsHead, headOf } from './chain.ts';
export { type EnvelopeContext, envelopeEvents } from './envelopes.ts';
export {
  AggregateFrozenError,
  ContentionError,
  HomeMovedError,
  PeerDivergedError,
  PeerRefusedError,
  QuorumAckError,
} from './errors.ts';
export {
  type CommandDeps,
  type CommandRequest,
  type CommandResult,
  type ConsistencyToken,
  type CoreWriteFence,
  emptyRecord,
  executeCommand,
  foldRecord,
} from './execute.ts';
export {
  peersNeeded,
  type QuorumReplicatorOptions,
  type QuorumWriter,
  quorumReplicator,
} from './quorum-ack.ts';
export { copyToPeer, type HomeLog, type PeerCopy } from './quorum-copy.ts';
export type { BranchRetirer, CopyOutcome, QuorumPeer } from './quorum-peer.ts';
export { dynamoQuorumPeer, type QuorumPeerTables } from './quorum-peer-dynamodb.ts';
export {
  type QuorumPeerRetirerOptions,
  quorumPeerRetirer,
  type RetireRegion,
} from './quorum-peer-retirer.ts';
export {
  type CoreBranchRecord,
  type CoreLogCell,
  foldCoreLog,
  type RetireCoreBranchInput,
  type RetiredBranch,
  rebuildRowFromLog,
  retireCoreBranch,
} from './retire-branch.ts';
