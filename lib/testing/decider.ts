import { AssertionError, deepStrictEqual } from 'node:assert/strict';
import type { AggregateDefinition, AnyAggregate, DecideContext, DomainEvent } from '../model/aggregate.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import { DomainError } from '../model/errors.ts';
import { currentEventVersion, parseCommand, upcastEvent } from '../model/registry.ts';

/** An event in a `given` history; `schemaVersion` (default: the current one) lets a test feed an old shape. */
export interface GivenEvent {
  readonly type: string;
  readonly payload?: Record<string, unknown>;
  readonly schemaVersion?: number;
}

/** A command as a client sends it: validated against the aggregate's command schema, as the API does. */
export interface WhenCommand {
  readonly type: string;
  readonly payload?: unknown;
}

/** An error class (`InsufficientFunds`) or an instance whose name, message (and code, details) must match. */
export type ErrorExpectation = (abstract new (...args: never[]) => Error) | Error;

/** The deciding home's clock a `when` runs at unless told: a fixed instant, so tests are deterministic. */
export const GIVEN_NOW = Date.parse('2026-01-01T00:00:00.000Z');

/** What the command came to: the events it decided and the state after them, or what it threw. */
type Outcome<S> =
  | { readonly ok: true; readonly events: readonly DomainEvent[]; readonly state: S }
  | { readonly ok: false; readonly error: unknown };

/** The state as the platform keeps it between commands: canonical JSON in the state table, parsed back. */
const stored = <S>(state: S): S => JSON.parse(canonicalJson(state)) as S;

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : `a non-Error value ${String(error)}`;

const isErrorClass = (value: unknown): value is abstract new (...args: never[]) => Error =>
  typeof value === 'function' && (value === Error || value.prototype instanceof Error);

/** Folds events through the upcasters and schemas, as the platform folds stored or replicated events. */
function fold<S>(aggregate: AggregateDefinition<S>, state: S, events: readonly GivenEvent[]): S {
  let next = state;
  for (const event of events) {
    const schemaVersion = event.schemaVersion ?? currentEventVersion(aggregate as AnyAggregate, event.type);
    const upcast = upcastEvent(aggregate as AnyAggregate, {
      type: event.type,
      schemaVersion,
      payload: event.payload ?? {},
    });
    next = stored(aggregate.evolve(next, upcast));
  }
  return next;
}

function matchError(error: unknown, expected: ErrorExpectation): void {
  const expectedName = expected.name;
  const sameKind = isErrorClass(expected)
    ? error instanceof expected
    : error instanceof Error && error.name === expected.name;
  if (!sameKind)
    throw new AssertionError({ message: `expected ${expectedName}, but it threw ${describeError(error)}` });
  if (isErrorClass(expected)) return;
  const actual = error as Error;
  deepStrictEqual(actual.message, expected.message, `${expectedName}: the message differs`);
  if (expected instanceof DomainError && actual instanceof DomainError) {
    deepStrictEqual(actual.code, expected.code, `${expectedName}: the code differs`);
    deepStrictEqual(stored(actual.details), stored(expected.details), `${expectedName}: the details differ`);
  }
}

/** The expectation side of a specification: `then(events)`, `then(ErrorClass)` or `thenState(state)`. */
export class DeciderThen<S> {
  readonly #outcome: () => Outcome<S>;

  constructor(outcome: () => Outcome<S>) {
    this.#outcome = outcome;
  }

  /**
   * Asserts the events the command decided (type and payload, in order; `[]`: none), or, given an error class
   * or instance, that it was refused with that error.
   */
  // biome-ignore lint/suspicious/noThenProperty: the spec reads given/when/then; awaiting it is refused below.
  then(expected: readonly DomainEvent[] | ErrorExpectation, onRejected?: (reason: unknown) => void): void {
    if (typeof expected === 'function' && !isErrorClass(expected)) {
      // Called as a thenable (the spec was awaited or returned without an expectation): nothing was checked.
      const error = new Error(
        'given(...).when(...) has no expectation: call .then(events), .then(ErrorClass) or .thenState(state)',
      );
      if (typeof onRejected !== 'function') throw error;
      onRejected(error);
      return;
    }
    const outcome = this.#outcome();
    if (Array.isArray(expected)) {
      if (!outcome.ok)
        throw new AssertionError({
          message: `expected events, but the command failed with ${describeError(outcome.error)}`,
        });
      deepStrictEqual(
        outcome.events,
        stored((expected as readonly DomainEvent[]).map(({ type, payload }) => ({ type, payload }))),
        'the decided events differ',
      );
      return;
    }
    if (outcome.ok)
      throw new AssertionError({
        message: `expected ${(expected as ErrorExpectation).name}, but the command decided ${JSON.stringify(outcome.events)}`,
      });
    matchError(outcome.error, expected as ErrorExpectation);
  }

  /** Asserts the state after the given events and the decided ones (as stored: canonical JSON). */
  thenState(expected: S): void {
    const outcome = this.#outcome();
    if (!outcome.ok)
      throw new AssertionError({
        message: `expected a state, but the command failed with ${describeError(outcome.error)}`,
      });
    deepStrictEqual(outcome.state, stored(expected), 'the state differs');
  }
}

/** The specification of one aggregate: `given(events).when(command).then(events | error)`. */
export interface DeciderSpecification<S> {
  given(events?: readonly GivenEvent[]): {
    when(command: WhenCommand, context?: Partial<DecideContext>): DeciderThen<S>;
  };
}

/**
 * Given/when/then for a decider, without AWS: folds the given events (through upcasters and schemas),
 * validates the command against its schema, decides at a fixed clock (`GIVEN_NOW`, or `context.now`), and
 * checks that each decided event is declared and matches its schema, as the platform does.
 * @example
 * const { given } = decider(wallet);
 * given([opened]).when({ type: 'Withdraw', payload: { amount: 500 } }).then(InsufficientFunds);
 */
export function decider<S>(
  aggregate: AggregateDefinition<S>,
  options: { readonly now?: number } = {},
): DeciderSpecification<S> {
  const any = aggregate as AnyAggregate;
  return {
    given(events = []) {
      let state = stored(aggregate.initialState());
      for (const [index, event] of events.entries()) {
        try {
          state = fold(aggregate, state, [event]);
        } catch (error) {
          throw new Error(
            `given event #${index + 1} (${event.type}) cannot be folded: ${describeError(error)}`,
            {
              cause: error,
            },
          );
        }
      }
      const folded = state;
      return {
        when(command, context = {}) {
          const decide = (): Outcome<S> => {
            try {
              const parsed = parseCommand(any, { type: command.type, payload: command.payload });
              const now = context.now ?? options.now ?? GIVEN_NOW;
              const decided = stored(
                aggregate.decide(parsed, folded, { now }).map(({ type, payload }) => ({ type, payload })),
              );
              return { ok: true, events: decided, state: fold(aggregate, folded, decided) };
            } catch (error) {
              return { ok: false, error };
            }
          };
          return new DeciderThen(decide);
        },
      };
    },
  };
}
