import type { Command } from '../model/aggregate.ts';

/**
 * The command body field naming the saga a forwarded step belongs to: the only way to send an aggregate's
 * internal commands, accepted from a peer region only (its request is signed, body included).
 */
export const SAGA_FIELD = 'saga';

/** One step of a saga: a command on an aggregate, to be run at the aggregate's home. */
export interface StepCommand {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly command: Command;
  /** The saga it belongs to (correlation id of its events). */
  readonly sagaId: string;
}

/** What a step did: the aggregate's state after it, or the domain refusal (nothing written). */
export type StepOutcome =
  | { readonly status: 'ok'; readonly state: unknown }
  | {
      readonly status: 'refused';
      readonly code: string;
      readonly message: string;
      readonly details: Readonly<Record<string, unknown>>;
    };

/** An aggregate's state as its home (or, when unreachable or absent, this region) knows it. */
export interface AggregateView {
  readonly state: unknown;
  readonly version: number;
}

/**
 * How a saga reaches aggregates (port): run a command at the aggregate's home (here, or forwarded to the
 * home's API), read an aggregate's state. Transient failures (home unreachable, fenced, no quorum) throw.
 */
export interface SagaCommandPort {
  send(step: StepCommand): Promise<StepOutcome>;
  /** Null when the aggregate has no events. */
  read(aggregateType: string, aggregateId: string): Promise<AggregateView | null>;
}

/** Input of a Saga state machine execution. */
export interface SagaExecutionInput {
  readonly saga: string;
  readonly sagaId: string;
  /** `api` (begun by a request) or `sweep` (resumed by the recovery sweep). */
  readonly startedBy: 'api' | 'sweep';
}

/** Starts an execution of the Saga state machine in this region (port: Step Functions, or the sandbox). */
export interface SagaStarter {
  /** `name` makes the start idempotent: an execution of that name already started is not started again. */
  start(input: SagaExecutionInput, name: string): Promise<void>;
}

/** A saga the due index says needs attention. */
export interface DueSaga {
  readonly saga: string;
  readonly sagaId: string;
  readonly dueAt: number;
}

/** Sagas whose due time has passed (port over the state table's `byDue` index). */
export interface DueSagaSource {
  overdue(saga: string, now: number, limit: number): Promise<DueSaga[]>;
}
