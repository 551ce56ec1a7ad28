export {
  type AggregateDefinition,
  type AnyAggregate,
  type Command,
  type ConflictDeclaration,
  type DomainEvent,
  defineAggregate,
  type EventDeclaration,
} from './aggregate.ts';
export { canonicalJson, jsonBytes } from './canonical-json.ts';
export { type EventEnvelope, eventEnvelopeSchema } from './envelope.ts';
export {
  DomainError,
  PayloadValidationError,
  UnknownAggregateError,
  UnknownCommandError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from './errors.ts';
export { ownEntry } from './own-property.ts';
export {
  type AggregateRegistry,
  createRegistry,
  currentEventVersion,
  parseCommand,
  upcastEvent,
} from './registry.ts';
