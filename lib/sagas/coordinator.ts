import { bugEnabled } from '../faults/switches.ts';
import type { Command } from '../model/aggregate.ts';
import type { AnySaga, SagaCatalog, SagaContext, SagaParticipant } from './definition.ts';
import { SagaNotFoundError, SagaPhaseMismatchError, SagaStepRefusedError } from './errors.ts';
import type { SagaCommandPort, StepOutcome } from './ports.ts';
import { FINISHED, type SagaState } from './saga-state.ts';

/** What the coordinator's tasks need (the Saga state machine's Lambda, or the sandbox's). */
export interface CoordinatorDeps {
  readonly sagas: SagaCatalog;
  readonly port: SagaCommandPort;
  readonly now?: () => number;
}

/** The task input: the execution state (`saga`, `sagaId`, plus earlier results and errors). */
export interface SagaTaskInput {
  readonly saga: string;
  readonly sagaId: string;
  /** Set by the machine when Try failed after its retries: Decide then cancels. */
  readonly tryError?: { readonly Error?: string; readonly Cause?: string };
}

type Participant = SagaParticipant<Record<string, unknown>>;

interface Loaded {
  readonly saga: AnySaga;
  readonly state: SagaState;
  readonly input: Record<string, unknown>;
}

function clock(deps: CoordinatorDeps): number {
  return (deps.now ?? Date.now)();
}

async function load(deps: CoordinatorDeps, task: SagaTaskInput): Promise<Loaded> {
  const saga = deps.sagas.get(task.saga);
  const view = await deps.port.read(saga.name, task.sagaId);
  const state = view?.state as SagaState | undefined;
  if (!state || state.status === 'new' || !state.input) throw new SagaNotFoundError(saga.name, task.sagaId);
  return { saga, state, input: state.input };
}

/** Sends one command to the saga's own aggregate (at its home) and answers its state afterwards. */
async function record(deps: CoordinatorDeps, loaded: Loaded, sagaId: string, command: Command) {
  const outcome = await deps.port.send({
    aggregateType: loaded.saga.name,
    aggregateId: sagaId,
    command,
    sagaId,
  });
  if (outcome.status === 'refused') {
    throw new SagaStepRefusedError(loaded.saga.name, command.type, outcome.code, outcome.message);
  }
  return outcome.state as SagaState;
}

function step(
  deps: CoordinatorDeps,
  input: { loaded: Loaded; sagaId: string; participant: Participant; command: Command },
): Promise<StepOutcome> {
  return deps.port.send({
    aggregateType: input.participant.aggregateType,
    aggregateId: input.participant.aggregateId(input.loaded.input),
    command: input.command,
    sagaId: input.sagaId,
  });
}

function context(deps: CoordinatorDeps, loaded: Loaded, sagaId: string): SagaContext {
  return { sagaId, expiresAt: loaded.state.expiresAt, at: clock(deps) };
}

/**
 * Try: every participant's reservation not recorded yet, in order; each outcome is recorded on the saga
 * before the next. A refusal stops the round (Decide will cancel). A saga already decided does nothing,
 * nor does one whose reservations have expired (Decide cancels it: a reservation made now would outlive
 * its expiry from the start; participants refuse such a Try too).
 */
export async function trySaga(deps: CoordinatorDeps, task: SagaTaskInput) {
  const loaded = await load(deps, task);
  if (loaded.state.status !== 'trying' || loaded.state.refused) return { status: loaded.state.status };
  if (clock(deps) >= loaded.state.expiresAt && !bugEnabled('late-try-holds'))
    return { status: 'trying', expired: true };
  for (const participant of loaded.saga.participants) {
    if (!participant.try || loaded.state.tried.includes(participant.name)) continue;
    const command = participant.try(loaded.input, context(deps, loaded, task.sagaId));
    const outcome = await step(deps, { loaded, sagaId: task.sagaId, participant, command });
    const refused = outcome.status === 'refused' ? { code: outcome.code, message: outcome.message } : {};
    const state = await record(deps, loaded, task.sagaId, {
      type: 'RecordTry',
      payload: { participant: participant.name, outcome: outcome.status, ...refused, at: clock(deps) },
    });
    if (outcome.status === 'refused') return { status: state.status, refused: outcome.code };
  }
  return { status: 'trying', tried: true };
}

/** Decide: the saga's one decision (or the one already made): `confirm` or `cancel`. */
export async function decideSaga(deps: CoordinatorDeps, task: SagaTaskInput) {
  const loaded = await load(deps, task);
  const cancel = task.tryError ? `try failed: ${task.tryError.Error ?? 'error'}` : undefined;
  const state = await record(deps, loaded, task.sagaId, {
    type: 'Decide',
    payload: { at: clock(deps), ...(cancel ? { cancel } : {}) },
  });
  const confirm = state.status === 'confirming' || state.status === 'confirmed';
  return { outcome: confirm ? 'confirm' : 'cancel', status: state.status, reason: state.reason };
}

async function finish(deps: CoordinatorDeps, task: SagaTaskInput, phase: 'confirm' | 'cancel') {
  const loaded = await load(deps, task);
  const steps = phase === 'confirm' ? loaded.state.confirmed : loaded.state.cancelled;
  let status = loaded.state.status;
  // Never send one phase's steps for a saga decided the other way (the decision is final).
  const decided = phase === 'confirm' ? ['confirming', 'confirmed'] : ['cancelling', 'cancelled'];
  if (!decided.includes(status)) throw new SagaPhaseMismatchError(status, phase);
  for (const participant of loaded.saga.participants) {
    const make = phase === 'confirm' ? participant.confirm : participant.cancel;
    if (FINISHED.has(status) || !make || steps.includes(participant.name)) continue;
    const command = make.call(participant, loaded.input, context(deps, loaded, task.sagaId));
    const outcome = await step(deps, { loaded, sagaId: task.sagaId, participant, command });
    if (outcome.status === 'refused') {
      throw new SagaStepRefusedError(participant.name, phase, outcome.code, outcome.message);
    }
    const state = await record(deps, loaded, task.sagaId, {
      type: 'RecordStep',
      payload: { phase, participant: participant.name, at: clock(deps) },
    });
    status = state.status;
  }
  return { status };
}

/** Confirm: every participant's confirm not recorded yet, in order; the last one ends the saga confirmed. */
export function confirmSaga(deps: CoordinatorDeps, task: SagaTaskInput) {
  return finish(deps, task, 'confirm');
}

/** Cancel: every participant's cancel not recorded yet, in order; the last one ends the saga cancelled. */
export function cancelSaga(deps: CoordinatorDeps, task: SagaTaskInput) {
  return finish(deps, task, 'cancel');
}
