import { bugEnabled } from '../faults/switches.ts';
import {
  type AggregateDefinition,
  type Command,
  type DomainEvent,
  defineAggregate,
} from '../model/aggregate.ts';
import { canonicalJson } from '../model/canonical-json.ts';
import type { SagaDefinition } from './definition.ts';
import {
  IdempotencyKeyReusedError,
  SagaNotReadyError,
  SagaNotStartedError,
  SagaPhaseMismatchError,
} from './errors.ts';
import { COMMANDS, EVENTS } from './saga-schema.ts';
import { evolveSaga, initialSagaState, type SagaState, type SagaStatus, sagaDueAt } from './saga-state.ts';

/** Names of the saga aggregate's commands (all internal: only the saga API and coordinator send them). */
export const SAGA_COMMANDS = Object.keys(COMMANDS) as ReadonlyArray<keyof typeof COMMANDS>;

type Shape = {
  readonly tries: readonly string[];
  readonly cancels: readonly string[];
  readonly all: readonly string[];
};

function begin(command: Command, state: SagaState, subject: string): DomainEvent[] {
  const payload = COMMANDS.BeginSaga.parse(command.payload);
  if (state.status === 'new') return [{ type: 'SagaBegun', payload }];
  // The same request again (a client retry, a duplicate delivery): nothing to do, unless it is another body.
  if (canonicalJson(state.input) === canonicalJson(payload.input)) return [];
  throw new IdempotencyKeyReusedError(subject);
}

function recordTry(command: Command, state: SagaState, shape: Shape): DomainEvent[] {
  const payload = COMMANDS.RecordTry.parse(command.payload);
  if (state.status === 'new') throw new SagaNotStartedError();
  const known = state.tried.includes(payload.participant) || state.refused !== null;
  if (state.status !== 'trying' || known || !shape.tries.includes(payload.participant)) return [];
  if (payload.outcome === 'ok') {
    return [{ type: 'ParticipantTried', payload: { participant: payload.participant, at: payload.at } }];
  }
  return [
    {
      type: 'ParticipantRefused',
      payload: {
        participant: payload.participant,
        code: payload.code ?? 'Refused',
        message: payload.message ?? '',
        at: payload.at,
      },
    },
  ];
}

/**
 * The one decision of a saga, made once: later Decide commands change nothing. Confirm needs every Try
 * recorded and the reservations not expired, by the coordinator's clock when it sent the Decide and by the
 * saga's home when it decides (`now`: a Decide delivered late confirms nothing past the expiry); anything
 * else cancels.
 */
function decideOutcome(command: Command, state: SagaState, shape: Shape, now: number): DomainEvent[] {
  const payload = COMMANDS.Decide.parse(command.payload);
  if (state.status === 'new') throw new SagaNotStartedError();
  if (state.status !== 'trying') return [];
  const cancel = (reason: string): DomainEvent[] => [
    { type: 'SagaCancelling', payload: { reason, at: payload.at } },
    // Nothing to release: the saga is cancelled as soon as it is decided.
    ...(shape.cancels.length === 0 ? [{ type: 'SagaCancelled', payload: { at: payload.at } }] : []),
  ];
  if (state.refused) return cancel(`refused by ${state.refused.participant}: ${state.refused.code}`);
  if (payload.cancel) return cancel(payload.cancel);
  const decidedAt = bugEnabled('hold-expiry-by-sender-clock') ? payload.at : Math.max(payload.at, now);
  if (decidedAt >= state.expiresAt) return cancel('expired');
  const missing = shape.tries.filter((p) => !state.tried.includes(p));
  if (missing.length > 0) throw new SagaNotReadyError(missing);
  return [{ type: 'SagaConfirming', payload: { at: payload.at } }];
}

function recordStep(command: Command, state: SagaState, shape: Shape): DomainEvent[] {
  const payload = COMMANDS.RecordStep.parse(command.payload);
  const confirming = payload.phase === 'confirm';
  const done = confirming ? state.confirmed : state.cancelled;
  const finished: SagaStatus = confirming ? 'confirmed' : 'cancelled';
  if (state.status === finished || done.includes(payload.participant)) return [];
  if (state.status !== (confirming ? 'confirming' : 'cancelling')) {
    throw new SagaPhaseMismatchError(state.status, payload.phase);
  }
  const expected = confirming ? shape.all : shape.cancels;
  if (!expected.includes(payload.participant)) return [];
  const step = { participant: payload.participant, at: payload.at };
  const events: DomainEvent[] = [
    { type: confirming ? 'ParticipantConfirmed' : 'ParticipantCancelled', payload: step },
  ];
  const after = new Set([...done, payload.participant]);
  if (expected.every((p) => after.has(p))) {
    events.push({ type: confirming ? 'SagaConfirmed' : 'SagaCancelled', payload: { at: payload.at } });
  }
  return events;
}

/**
 * The core aggregate that records one saga's progress: its begin, every Try outcome, the decision (made
 * once: confirm or cancel), every Confirm or Cancel step and the end. Every command is idempotent, so
 * two coordinators (the original and one resumed by the sweep) may run the same saga at once.
 */
export function sagaAggregate<I>(definition: SagaDefinition<I>): AggregateDefinition<SagaState> {
  const shape: Shape = {
    tries: definition.participants.filter((p) => p.try).map((p) => p.name),
    cancels: definition.participants.filter((p) => p.cancel).map((p) => p.name),
    all: definition.participants.map((p) => p.name),
  };
  return defineAggregate<SagaState>({
    name: definition.name,
    tier: 'core',
    commands: COMMANDS,
    events: EVENTS,
    internalCommands: SAGA_COMMANDS,
    initialState: initialSagaState,
    decide(command, state, context) {
      switch (command.type) {
        case 'BeginSaga':
          return begin(command, state, `a ${definition.name}`);
        case 'RecordTry':
          return recordTry(command, state, shape);
        case 'Decide':
          return decideOutcome(command, state, shape, context.now);
        case 'RecordStep':
          return recordStep(command, state, shape);
        default:
          return [];
      }
    },
    evolve: evolveSaga,
    dueAt: sagaDueAt,
  });
}
