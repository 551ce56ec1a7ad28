/**
 * The public surface of multiactive for a team's project (`import { defineApp } from 'multiactive'`): what a
 * `multiactive.config.ts` and its aggregates, sagas and topologies are written with. The given/when/then
 * helper for deciders is `multiactive/testing`. Only definitions are imported here (no AWS SDK client, no
 * sandbox), so a project's unit tests load fast.
 */

/** The zod multiactive validates commands and events with: schemas built with it are the ones it expects. */
export { z } from 'zod';
export {
  type Application,
  ApplicationConfigError,
  type ApplicationInput,
  CONFIG_FILE,
  defineApp,
  loadApplication,
} from './app/index.ts';
export {
  type AggregateConfig,
  type ApiAuthConfig,
  CONFLICT_POLICIES,
  ConfigError,
  type ConflictPolicy,
  defineTopology,
  type Objectives,
  type RegionConfig,
  TIERS,
  type Tier,
  type Topology,
  type TopologyInput,
  UnknownEnvironmentError,
} from './config/index.ts';
export type { DecideContext } from './model/aggregate.ts';
export {
  type AggregateDefinition,
  type AnyAggregate,
  type Command,
  type ConflictDeclaration,
  DomainError,
  type DomainEvent,
  defineAggregate,
  type EventDeclaration,
  PayloadValidationError,
  UnknownCommandError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
  upcastEvent,
} from './model/index.ts';
export {
  type AnySaga,
  defineSaga,
  type Saga,
  type SagaContext,
  type SagaDefinition,
  type SagaParticipant,
} from './sagas/definition.ts';
