import type { z } from 'zod';
import type { ConflictPolicy, Tier } from '../config/schema.ts';

/** A command as received at the edge: a type and a payload validated by the aggregate's schema. */
export interface Command<P = Record<string, unknown>> {
  readonly type: string;
  readonly payload: P;
}

/** A domain event as produced by `decide` (the platform wraps it in an envelope). */
export interface DomainEvent<P = Record<string, unknown>> {
  readonly type: string;
  readonly payload: P;
}

type PayloadSchema = z.ZodType<Record<string, unknown>>;

/**
 * What the deciding home knows besides the command and the state: its clock. A decider that compares a time
 * in the command (an expiry) with the present uses `now`, never its own Date.now (it stays pure) nor only the
 * sender's time in the command (a step delivered late was sent before, and is decided after, that time).
 */
export interface DecideContext {
  /** Epoch ms by the deciding region's clock (its hybrid logical clock's physical part) when it decides. */
  readonly now: number;
}

/** The declaration of one event type: its current schema version and upcasters from older versions. */
export interface EventDeclaration {
  /** Current schema version; events are stored with it. */
  readonly version: number;
  readonly schema: PayloadSchema;
  /** `upcasters[n]` turns a payload of version n into version n + 1. */
  readonly upcasters?: Readonly<
    Record<number, (payload: Record<string, unknown>) => Record<string, unknown>>
  >;
}

/** How concurrent events of an `important` aggregate are resolved. */
export interface ConflictDeclaration<S> {
  readonly policy: ConflictPolicy;
  /**
   * Policy `rule`: folds an event that is concurrent with events already folded. Must be deterministic;
   * events arrive here in HLC order in every region.
   */
  merge?(state: S, event: DomainEvent): S;
}

/** An event-sourced aggregate defined as a decider. */
export interface AggregateDefinition<S> {
  readonly name: string;
  readonly tier: Tier;
  readonly commands: Readonly<Record<string, PayloadSchema>>;
  readonly events: Readonly<Record<string, EventDeclaration>>;
  initialState(): S;
  /**
   * Pure: the events a command produces against the current state; throws a `DomainError` to refuse.
   * `context.now` is the deciding home's clock.
   */
  decide(command: Command, state: S, context: DecideContext): DomainEvent[];
  /** Pure: the state after one event. */
  evolve(state: S, event: DomainEvent): S;
  readonly conflict?: ConflictDeclaration<S>;
  /**
   * Commands clients may not send: only a saga step forwarded by a peer may (its body names the saga), e.g.
   * settling a hold.
   * The API answers 403 `InternalCommand` to anyone else.
   */
  readonly internalCommands?: readonly string[];
  /**
   * Pure: when (epoch ms) this aggregate needs attention from a sweeper, or null when it does not (core
   * tier). Its projection row is then indexed by that time (state table index `byDue`), so a sweep finds
   * what is overdue without scanning; a saga left in doubt by a lost coordinator is found this way.
   */
  dueAt?(state: S): number | null;
  /**
   * Version of the state's shape (default 1). A snapshot carries the version it was taken at; bump it when
   * `evolve` or the state's shape changes, and older snapshots are ignored (the state is folded again from
   * the log, events upcast as usual) rather than trusted with a shape the code no longer has.
   */
  readonly stateVersion?: number;
}

/**
 * Any aggregate definition, whatever its state type (for registries). Methods are bivariant in their
 * parameters, so every `AggregateDefinition<S>` is assignable to this.
 */
export type AnyAggregate = AggregateDefinition<unknown>;

/**
 * Declares an aggregate; checks that every event type has a version >= 1 and a complete upcaster chain.
 * @example defineAggregate({ name: 'account', tier: 'core', commands, events, initialState, decide, evolve })
 */
export function defineAggregate<S>(definition: AggregateDefinition<S>): AggregateDefinition<S> {
  if (definition.tier === 'important' && !definition.conflict) {
    throw new Error(`aggregate "${definition.name}" is important-tier and needs a conflict declaration`);
  }
  if (definition.conflict?.policy === 'rule' && !definition.conflict.merge) {
    throw new Error(`aggregate "${definition.name}" uses conflict policy "rule" but has no merge function`);
  }
  for (const [type, declaration] of Object.entries(definition.events)) {
    for (let v = 1; v < declaration.version; v++) {
      if (declaration.upcasters?.[v] === undefined && v > 1) {
        throw new Error(`event ${definition.name}.${type}: missing upcaster from v${v} to v${v + 1}`);
      }
    }
  }
  return definition;
}
