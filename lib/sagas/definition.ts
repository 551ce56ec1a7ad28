import type { z } from 'zod';
import type { AggregateDefinition, Command } from '../model/aggregate.ts';
import { sagaAggregate } from './saga-aggregate.ts';
import type { SagaState } from './saga-state.ts';

/** What every step command of a saga is given besides the saga's input. */
export interface SagaContext {
  readonly sagaId: string;
  /** When the reservations made by Try expire (epoch ms); after it, the saga can only be cancelled. */
  readonly expiresAt: number;
  /** The coordinator's clock when it sends the step (epoch ms). */
  readonly at: number;
}

/**
 * One aggregate a saga touches, with its Try-Confirm-Cancel commands. Each command runs at the
 * aggregate's home through the normal command path and must be idempotent by saga id: sent twice, it
 * changes nothing the second time. The contract the saga relies on:
 * - `try` reserves (and may refuse: a domain error cancels the saga);
 * - `confirm` must succeed once `try` did (it only uses what was reserved);
 * - `cancel` releases what `try` reserved, succeeds also when `try` never ran, and makes a `try` that
 *   arrives after it (a delayed or duplicated delivery) a no-op, so no reservation is left hanging.
 */
export interface SagaParticipant<I> {
  /** Unique within the saga, e.g. `source`. */
  readonly name: string;
  readonly aggregateType: string;
  aggregateId(input: I): string;
  /** Absent for a participant that reserves nothing (e.g. the account credited by a transfer). */
  try?(input: I, context: SagaContext): Command;
  confirm(input: I, context: SagaContext): Command;
  /** Absent when there is nothing to release. */
  cancel?(input: I, context: SagaContext): Command;
}

/** A Try-Confirm-Cancel saga over core aggregates, served at `POST /v1/<route>` and run by the Saga machine. */
export interface SagaDefinition<I> {
  /** The saga's own aggregate type (core tier), e.g. `transfer`. */
  readonly name: string;
  /** HTTP collection: `POST /v1/<route>`, `GET /v1/<route>/{id}`. */
  readonly route: string;
  /** Name of the id in HTTP answers, e.g. `transferId`. */
  readonly idField: string;
  /** Prefix of saga ids, e.g. `tr-`. */
  readonly idPrefix: string;
  /** The request body without `idempotencyKey`; refusals are 400s that move nothing. */
  readonly input: z.ZodType<I>;
  /** In order: Try and Confirm run in this order, Cancel too. */
  readonly participants: readonly SagaParticipant<I>[];
  /**
   * The participant whose partition the saga id is chosen in: the saga then has the same home (and
   * epoch) as that aggregate, so its Try and decision are local writes, and both move together in a
   * failover.
   */
  readonly colocateWith: string;
}

/** A saga definition with its aggregate, ready for the registry, the API and the coordinator. */
export interface Saga<I> extends SagaDefinition<I> {
  readonly aggregate: AggregateDefinition<SagaState>;
}

/** A saga of any input type (for catalogs). */
export type AnySaga = Saga<Record<string, unknown>>;

/**
 * Declares a saga; checks the participants and builds its core aggregate (`sagaAggregate`).
 * @example export const transfer = defineSaga({ name: 'transfer', route: 'transfers', idField: 'transferId', idPrefix: 'tr-', input, participants, colocateWith: 'source' });
 */
export function defineSaga<I extends Record<string, unknown>>(definition: SagaDefinition<I>): Saga<I> {
  const names = definition.participants.map((p) => p.name);
  if (names.length === 0) throw new Error(`saga "${definition.name}" has no participants`);
  if (new Set(names).size !== names.length) {
    throw new Error(`saga "${definition.name}" has duplicate participant names: ${names.join(', ')}`);
  }
  if (!names.includes(definition.colocateWith)) {
    throw new Error(`saga "${definition.name}": colocateWith "${definition.colocateWith}" is no participant`);
  }
  return { ...definition, aggregate: sagaAggregate(definition) };
}

/** The sagas an application serves, by aggregate type. */
export interface SagaCatalog {
  get(name: string): AnySaga;
  has(name: string): boolean;
  all(): readonly AnySaga[];
}

/** A catalog over the given sagas. */
export function sagaCatalog(sagas: readonly AnySaga[]): SagaCatalog {
  const byName = new Map(sagas.map((s) => [s.name, s]));
  return {
    get(name) {
      const saga = byName.get(name);
      if (!saga) throw new Error(`unknown saga "${name}"; known: ${[...byName.keys()].join(', ')}`);
      return saga;
    },
    has: (name) => byName.has(name),
    all: () => sagas,
  };
}
