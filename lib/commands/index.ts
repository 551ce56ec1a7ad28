export { type CoreHead, chainedRun, extendsHead, headOf } from './chain.ts';
export { type EnvelopeContext, envelopeEvents } from './envelopes.ts';
export { AggregateFrozenError, ContentionError, QuorumAckError } from './errors.ts';
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
export { type QuorumPeer, type QuorumReplicatorOptions, quorumReplicator } from './quorum-ack.ts';
export { dynamoQuorumPeer } from './quorum-peer-dynamodb.ts';
export {
  type CoreBranchRecord,
  type CoreLogCell,
  foldCoreLog,
  type RetireCoreBranchInput,
  type RetiredBranch,
  rebuildRowFromLog,
  retireCoreBranch,
} from './retire-branch.ts';
