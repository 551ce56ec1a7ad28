/**
 * Lambda's execution environments for one function, as the sandbox runs them: an invocation takes an
 * idle instance (warm: whatever the handler's module scope kept, such as a row cache or a watermark
 * store, is still there) or starts a new one when every instance is busy, and each instance runs one
 * invocation at a time. Instances are never retired: a warm pool only grows to the function's peak
 * concurrency, as Lambda keeps environments warm under steady traffic.
 */
export interface InstancePool<T> {
  /** Runs `invoke` on an idle instance (a new one if none is idle); the instance is idle again after it. */
  run<R>(invoke: (instance: T) => Promise<R>): Promise<R>;
  /** Instances started so far (cold starts). */
  readonly started: number;
}

/**
 * A pool of instances made by `start` (the handler's module scope).
 * @example const pool = instancePool(() => createApplier(deps)); await pool.run((apply) => apply(detail));
 */
export function instancePool<T>(start: () => T): InstancePool<T> {
  const idle: T[] = [];
  let started = 0;
  return {
    async run(invoke) {
      let instance = idle.pop();
      if (instance === undefined) {
        instance = start();
        started += 1;
      }
      try {
        return await invoke(instance);
      } finally {
        idle.push(instance);
      }
    },
    get started() {
      return started;
    },
  };
}
