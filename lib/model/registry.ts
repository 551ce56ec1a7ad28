import type { z } from 'zod';
import type { Topology } from '../config/schema.ts';
import type { AnyAggregate, Command, DomainEvent } from './aggregate.ts';
import {
  PayloadValidationError,
  UnknownAggregateError,
  UnknownCommandError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from './errors.ts';
import { ownEntry } from './own-property.ts';

/** The aggregate types an application serves, looked up by name. */
export interface AggregateRegistry {
  get(type: string): AnyAggregate;
  has(type: string): boolean;
  types(): string[];
}

/** Builds a registry; when a topology is given, every configured type must exist with the same tier. */
export function createRegistry(aggregates: readonly AnyAggregate[], topology?: Topology): AggregateRegistry {
  const byName = new Map(aggregates.map((a) => [a.name, a]));
  for (const configured of topology?.aggregates ?? []) {
    const definition = byName.get(configured.type);
    if (!definition) throw new UnknownAggregateError(configured.type, [...byName.keys()]);
    if (definition.tier !== configured.tier) {
      throw new Error(
        `aggregate "${configured.type}" is ${definition.tier}-tier in code but ${configured.tier} in config`,
      );
    }
  }
  return {
    get(type) {
      const definition = byName.get(type);
      if (!definition) throw new UnknownAggregateError(type, [...byName.keys()]);
      return definition;
    },
    has: (type) => byName.has(type),
    types: () => [...byName.keys()],
  };
}

function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Validates a command against the aggregate's schema; unknown type or bad payload throws a typed error. */
export function parseCommand(aggregate: AnyAggregate, input: { type: string; payload: unknown }): Command {
  const schema = ownEntry(aggregate.commands, input.type);
  if (!schema) throw new UnknownCommandError(aggregate.name, input.type, Object.keys(aggregate.commands));
  const parsed = schema.safeParse(input.payload ?? {});
  if (!parsed.success) throw new PayloadValidationError(`${input.type} payload`, issuesOf(parsed.error));
  return { type: input.type, payload: parsed.data };
}

/** The current schema version of an event type. */
export function currentEventVersion(aggregate: AnyAggregate, eventType: string): number {
  const declaration = ownEntry(aggregate.events, eventType);
  if (!declaration) throw new UnknownEventTypeError(aggregate.name, eventType);
  return declaration.version;
}

/**
 * Brings a stored event payload up to the current schema version through the upcaster chain, then
 * validates it. Unknown types and versions without a path throw (the applier quarantines them).
 */
export function upcastEvent(
  aggregate: AnyAggregate,
  event: { type: string; schemaVersion: number; payload: Record<string, unknown> },
): DomainEvent {
  const declaration = ownEntry(aggregate.events, event.type);
  if (!declaration) throw new UnknownEventTypeError(aggregate.name, event.type);
  let payload = event.payload;
  if (event.schemaVersion > declaration.version) {
    throw new UnsupportedSchemaVersionError(event.type, event.schemaVersion, declaration.version);
  }
  for (let v = event.schemaVersion; v < declaration.version; v++) {
    const upcast = declaration.upcasters ? ownEntry(declaration.upcasters, String(v)) : undefined;
    if (!upcast)
      throw new UnsupportedSchemaVersionError(event.type, event.schemaVersion, declaration.version);
    payload = upcast(payload);
  }
  const parsed = declaration.schema.safeParse(payload);
  if (!parsed.success) throw new PayloadValidationError(`${event.type} event`, issuesOf(parsed.error));
  return { type: event.type, payload: parsed.data };
}
