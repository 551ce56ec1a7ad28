import { z } from 'zod';
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

/** Where a saga is: `trying` until decided, then confirming/cancelling until every step is done. */
export const SAGA_STATUSES = ['new', 'trying', 'confirming', 'cancelling', 'confirmed', 'cancelled'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

/** Terminal statuses: the saga ended exactly once, one way. */
export const FINISHED: ReadonlySet<SagaStatus> = new Set(['confirmed', 'cancelled']);

/** The folded state of a saga aggregate. Times are epoch ms from the coordinator that wrote them. */
export interface SagaState {
  readonly status: SagaStatus;
  readonly input: Record<string, unknown> | null;
  readonly startedAt: number;
  readonly expiresAt: number;
  readonly resumeAfterMs: number;
  /** Time of the newest event: the sweep resumes a saga idle for resumeAfterMs. */
  readonly updatedAt: number;
  readonly tried: readonly string[];
  readonly refused: { readonly participant: string; readonly code: string; readonly message: string } | null;
  readonly confirmed: readonly string[];
  readonly cancelled: readonly string[];
  /** Why it was cancelled (`refused by source: InsufficientFunds`, `expired`, ...). */
  readonly reason: string | null;
}

const at = z.number().int().nonnegative();
const participant = z.string().min(1).max(64);

const COMMANDS = {
  BeginSaga: z.strictObject({
    input: z.record(z.string(), z.unknown()),
    expiresAt: at,
    resumeAfterMs: z.number().int().positive(),
    at,
  }),
  RecordTry: z.strictObject({
    participant,
    outcome: z.enum(['ok', 'refused']),
    code: z.string().max(128).optional(),
    message: z.string().max(1_000).optional(),
    at,
  }),
  /** `cancel`: the coordinator's reason to cancel now (e.g. the Try could not be run). */
  Decide: z.strictObject({ at, cancel: z.string().min(1).max(500).optional() }),
  RecordStep: z.strictObject({ phase: z.enum(['confirm', 'cancel']), participant, at }),
};

const EVENTS = {
  SagaBegun: { version: 1, schema: COMMANDS.BeginSaga },
  ParticipantTried: { version: 1, schema: z.strictObject({ participant, at }) },
  ParticipantRefused: {
    version: 1,
    schema: z.strictObject({ participant, code: z.string(), message: z.string(), at }),
  },
  SagaConfirming: { version: 1, schema: z.strictObject({ at }) },
  SagaCancelling: { version: 1, schema: z.strictObject({ reason: z.string(), at }) },
  ParticipantConfirmed: { version: 1, schema: z.strictObject({ participant, at }) },
  ParticipantCancelled: { version: 1, schema: z.strictObject({ participant, at }) },
  SagaConfirmed: { version: 1, schema: z.strictObject({ at }) },
  SagaCancelled: { version: 1, schema: z.strictObject({ at }) },
};

/** Names of the saga aggregate's commands (all internal: only the saga API and coordinator send them). */
export const SAGA_COMMANDS = Object.keys(COMMANDS) as ReadonlyArray<keyof typeof COMMANDS>;

function initialSagaState(): SagaState {
  return {
    status: 'new',
    input: null,
    startedAt: 0,
    expiresAt: 0,
    resumeAfterMs: 0,
    updatedAt: 0,
    tried: [],
    refused: null,
    confirmed: [],
    cancelled: [],
    reason: null,
  };
}

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
 * recorded and the reservations not expired (by the deciding coordinator's clock); anything else cancels.
 */
function decideOutcome(command: Command, state: SagaState, shape: Shape): DomainEvent[] {
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
  if (payload.at >= state.expiresAt) return cancel('expired');
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

function evolveSaga(state: SagaState, event: DomainEvent): SagaState {
  const p = event.payload as Record<string, unknown> & { at: number; participant: string };
  const next = { ...state, updatedAt: Math.max(state.updatedAt, p.at) };
  switch (event.type) {
    case 'SagaBegun': {
      const begun = COMMANDS.BeginSaga.parse(p);
      return {
        ...next,
        status: 'trying',
        input: begun.input,
        startedAt: begun.at,
        expiresAt: begun.expiresAt,
        resumeAfterMs: begun.resumeAfterMs,
      };
    }
    case 'ParticipantTried':
      return { ...next, tried: [...state.tried, p.participant] };
    case 'ParticipantRefused':
      return {
        ...next,
        refused: { participant: p.participant, code: String(p.code), message: String(p.message) },
      };
    case 'SagaConfirming':
      return { ...next, status: 'confirming' };
    case 'SagaCancelling':
      return { ...next, status: 'cancelling', reason: String(p.reason) };
    case 'ParticipantConfirmed':
      return { ...next, confirmed: [...state.confirmed, p.participant] };
    case 'ParticipantCancelled':
      return { ...next, cancelled: [...state.cancelled, p.participant] };
    case 'SagaConfirmed':
      return { ...next, status: 'confirmed' };
    case 'SagaCancelled':
      return { ...next, status: 'cancelled' };
    default:
      return state;
  }
}

/**
 * When the sweep must look at a saga: never once it ended; while trying, at the expiry of its
 * reservations at the latest (then it can only be cancelled); otherwise once it has been idle for
 * resumeAfterMs (its coordinator may have been lost with its region).
 */
export function sagaDueAt(state: SagaState): number | null {
  if (state.status === 'new' || FINISHED.has(state.status)) return null;
  const idle = state.updatedAt + state.resumeAfterMs;
  return state.status === 'trying' ? Math.min(state.expiresAt, idle) : idle;
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
    decide(command, state) {
      switch (command.type) {
        case 'BeginSaga':
          return begin(command, state, `a ${definition.name}`);
        case 'RecordTry':
          return recordTry(command, state, shape);
        case 'Decide':
          return decideOutcome(command, state, shape);
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
