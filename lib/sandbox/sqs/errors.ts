/** Base class of the local SQS's errors. */
export class LocalSqsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalSqsError';
  }
}

/** A message SQS would refuse (empty, or over the 256 KiB limit), named as the SDK names it. */
export class InvalidMessageContentsError extends LocalSqsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidMessageContents';
  }
}

/** A queue setting outside what SQS or Lambda accepts (a template the sandbox must not run silently). */
export class InvalidQueueSettingError extends LocalSqsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidQueueSettingError';
  }
}

/** What a lane's queue still held when a drain gave up: one row per mapped queue that was not empty. */
export interface UndrainedQueue {
  readonly region: string;
  readonly queue: string;
  /** Messages in the queue, visible or in flight. */
  readonly queued: number;
  /** Batches the mapping had in flight. */
  readonly inFlight: number;
}

/**
 * The ordinary lane did not drain before a quiesce's deadline: names the queues and what they held, so a
 * slow lane is not reported as the next stage's timeout.
 */
export class LaneNotDrainedError extends LocalSqsError {
  readonly undrained: readonly UndrainedQueue[];

  constructor(timeoutMs: number, undrained: readonly UndrainedQueue[]) {
    const rows = undrained.map(
      (q) => `${q.region} ${q.queue}: ${q.queued} queued, ${q.inFlight} batch(es) in flight`,
    );
    super(`Ordinary lane not drained within ${timeoutMs} ms (${rows.join('; ')})`);
    this.name = 'LaneNotDrainedError';
    this.undrained = undrained;
  }
}
