import {
  type CoordinatorDeps,
  cancelSaga,
  confirmSaga,
  decideSaga,
  type SagaTaskInput,
  trySaga,
} from './coordinator.ts';
import { SagaError } from './errors.ts';
import { type SweepDeps, sweepSagas } from './sweep.ts';

/** Task names as the Saga state machine calls them, plus the scheduled `Sweep`. */
export const SAGA_TASKS = ['Try', 'Decide', 'Confirm', 'Cancel', 'Sweep'] as const;
export type SagaTaskName = (typeof SAGA_TASKS)[number];

/** What the saga function receives: `{ task, input }` from a machine's task, `{ task: 'Sweep' }` on schedule. */
export interface SagaTaskRequest {
  readonly task: string;
  readonly input?: unknown;
}

/** A request naming no task of the saga function. */
export class UnknownSagaTaskError extends SagaError {
  override readonly name = 'UnknownSagaTask';
  constructor(readonly task: string) {
    super(`unknown saga task "${task}"; known: ${SAGA_TASKS.join(', ')}`);
  }
}

function taskInput(input: unknown): SagaTaskInput {
  const value = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  if (typeof value.saga !== 'string' || typeof value.sagaId !== 'string') {
    throw new SagaError('a saga task needs { saga, sagaId } in its input');
  }
  return value as unknown as SagaTaskInput;
}

/**
 * The saga function's logic: runs one task of the Saga machine for the saga in `input`, or the recovery
 * sweep. Results are plain JSON (kept by the machine at `$.<task>`); failures throw for the machine to
 * retry or catch.
 * @example const run = createSagaTaskHandler({ coordinator, sweep }); await run({ task: 'Try', input: { saga: 'transfer', sagaId } });
 */
export function createSagaTaskHandler(deps: { coordinator: CoordinatorDeps; sweep: SweepDeps }) {
  return async function runSagaTask(request: SagaTaskRequest): Promise<Record<string, unknown>> {
    switch (request.task) {
      case 'Try':
        return trySaga(deps.coordinator, taskInput(request.input));
      case 'Decide':
        return decideSaga(deps.coordinator, taskInput(request.input));
      case 'Confirm':
        return confirmSaga(deps.coordinator, taskInput(request.input));
      case 'Cancel':
        return cancelSaga(deps.coordinator, taskInput(request.input));
      case 'Sweep': {
        const report = await sweepSagas(deps.sweep);
        return { ...report };
      }
      default:
        throw new UnknownSagaTaskError(request.task);
    }
  };
}
