export { type EnvelopeContext, envelopeEvents } from './envelopes.ts';
export { AggregateFrozenError, ContentionError } from './errors.ts';
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
