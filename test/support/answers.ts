import { expect } from 'vitest';

/** An API answer as the test clients keep it: the status and the parsed JSON body. */
export interface StatusAndBody {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * What a non-2xx answer said, in one line: status, the error's name (`error`), its message and details
 * (e.g. `503 QuorumAckError: ... {"peersTried":[...]}`), so a failed status assertion tells which 503 it was.
 */
export function describeAnswer(answer: StatusAndBody): string {
  const { error, message, details } = answer.body as {
    error?: unknown;
    message?: unknown;
    details?: unknown;
  };
  const detail =
    details && typeof details === 'object' && Object.keys(details).length > 0
      ? ` ${JSON.stringify(details)}`
      : '';
  return `${answer.status} ${String(error ?? '(no error name)')}: ${String(message ?? '')}${detail}`;
}

/** Asserts the answer's status; on a mismatch the message carries the answer's error name and reason. */
export function expectStatus<A extends StatusAndBody>(answer: A, status: number): A {
  expect(answer.status, describeAnswer(answer)).toBe(status);
  return answer;
}

/**
 * Sends a request again while it is answered 503 (a transient refusal the API pairs with Retry-After: a
 * forward that timed out, a lease that ran out mid-append, a slow quorum), as a client following the API's
 * contract does: up to `attempts` sends, `pauseMs` apart. Meant for set-up writes and for a test whose
 * subject is what a served answer says, on a loaded machine where a fresh world's first writes can outlast
 * the fast timers. Send the same idempotencyKey each time, so a write that landed after its 503 is not made
 * twice. Any other answer, or the last 503, is returned as it is: a write that is never served still fails
 * the test.
 */
export async function untilServed<A extends { readonly status: number }>(
  send: () => Promise<A>,
  attempts = 4,
  pauseMs = 500,
): Promise<A> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send();
    if (answer.status !== 503 || attempt >= attempts) return answer;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
