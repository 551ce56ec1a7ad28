/**
 * A function's invocation cut off at its configured timeout, as Lambda does: past `Timeout` the caller
 * (an event source, Step Functions, a schedule) sees the invocation fail with `Sandbox.Timedout`, and
 * retries it by its own rules. The sandbox cannot freeze the work already running (Lambda stops the
 * environment): it goes on in the background, its outcome ignored, like a request Lambda had already sent
 * when it stopped. Used for every function an AWS service invokes, not the API (API Gateway's own limit).
 */
export class LambdaTimeoutError extends Error {
  constructor(
    readonly functionName: string,
    readonly timeoutMs: number,
  ) {
    super(`${functionName}: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    // Lambda's errorType for a timeout (what a Step Functions Catch or a retry policy sees).
    this.name = 'Sandbox.Timedout';
  }
}

/**
 * `run` under a timeout of `timeoutMs` (none when undefined): its result, or `LambdaTimeoutError` once the
 * time is up.
 * @example const apply = withLambdaTimeout('multiactive-dev-applier', 60_000, applyOne);
 */
export function withLambdaTimeout<A extends unknown[], R>(
  functionName: string,
  timeoutMs: number | undefined,
  run: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (timeoutMs === undefined) return run;
  return (...args: A) => {
    const work = run(...args);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LambdaTimeoutError(functionName, timeoutMs)), timeoutMs);
      timer.unref?.();
    });
    // The work's own late failure, after the timeout answered, is nobody's to handle.
    work.catch(() => {});
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  };
}
