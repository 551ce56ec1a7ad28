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
