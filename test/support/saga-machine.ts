import { SAGA_RETRIES } from '../../cdk/constructs/sagas/saga-defaults.ts';
import type { SagaTaskRequest } from '../../lib/sagas/index.ts';

/** The saga function (or anything that runs its tasks). */
export type SagaTaskRunner = (request: SagaTaskRequest) => Promise<Record<string, unknown>>;

/**
 * One execution of the Saga machine as its ASL says (cdk/constructs/sagas/saga-definition.ts), without
 * the waits: each task retried SAGA_RETRIES times, a Try that still fails hands `tryError` to Decide,
 * a Decide, Confirm or Cancel that still fails ends the execution in doubt. The synthesized ASL itself
 * runs in test/cdk/sagas.test.ts and in the sandbox.
 */
export async function executeSaga(
  run: SagaTaskRunner,
  input: { saga: string; sagaId: string },
): Promise<'confirmed' | 'cancelled' | 'in-doubt'> {
  const attempt = async (task: keyof typeof SAGA_RETRIES, state: Record<string, unknown>) => {
    for (let i = 0; ; i++) {
      try {
        return await run({ task, input: state });
      } catch (error) {
        if (i >= SAGA_RETRIES[task]) throw error;
      }
    }
  };
  let state: Record<string, unknown> = { ...input };
  try {
    state = { ...state, try: await attempt('Try', state) };
  } catch (error) {
    state = { ...state, tryError: { Error: (error as Error).name, Cause: (error as Error).message } };
  }
  try {
    const decide = await attempt('Decide', state);
    state = { ...state, decide };
    const confirm = decide.outcome === 'confirm';
    await attempt(confirm ? 'Confirm' : 'Cancel', state);
    return confirm ? 'confirmed' : 'cancelled';
  } catch {
    return 'in-doubt';
  }
}
