import type { DomainEvent } from '../model/aggregate.ts';
import { COMMANDS } from './saga-schema.ts';

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

/** A saga before its begin. */
export function initialSagaState(): SagaState {
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

/** Folds one saga event. */
export function evolveSaga(state: SagaState, event: DomainEvent): SagaState {
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
