import { Sleeper } from '../streams/sleeper.ts';
import { EventBusClosedError, FunctionError } from './errors.ts';
import type {
  AsyncInvokeCondition,
  AsyncInvokePolicy,
  BusTarget,
  EventBridgeEvent,
  EventBusStats,
  RetryPolicy,
} from './types.ts';

/** EventBridge's default policy for a target that sets none. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maximumRetryAttempts: 185,
  maximumEventAgeSeconds: 86_400,
};

/** Settings shared by every delivery of one bus. */
export interface DeliveryContext {
  busName: string;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  now: () => number;
  random: () => number;
  stats: EventBusStats;
  onDropped: (event: EventBridgeEvent, targetId: string, error: unknown) => void;
  /** The concurrency limit of a target (its Lambda's concurrency): deliveries beyond it queue. */
  limitFor: (target: BusTarget) => ConcurrencyLimit;
}

/**
 * At most `max` calls at once; the rest wait in arrival order. Stands for a target's concurrency limit, so a
 * backlog released at once (a region coming back) is worked off at a bounded rate instead of all together.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  /** Runs `fn` when a slot is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Retry waits that `cancelAll()` ends early, so closing a bus never leaves a retry timer behind. */
export class Backoff {
  private readonly sleeper = new Sleeper();

  constructor() {
    this.sleeper.open();
  }

  /** Resolves `true` after `ms`, or `false` at once if cancelled. */
  wait(ms: number): Promise<boolean> {
    return this.sleeper.sleep(ms);
  }

  /** Ends every pending and future wait with `false`. */
  cancelAll(): void {
    this.sleeper.cancelAll();
  }
}

/** Exponential backoff with full jitter, capped (AWS does not publish its exact curve). */
function retryDelay(ctx: DeliveryContext, retry: number): number {
  const ceiling = Math.min(ctx.retryMaxDelayMs, ctx.retryBaseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (ctx.random() * ceiling) / 2);
}

async function giveUp(
  ctx: DeliveryContext,
  target: BusTarget,
  event: EventBridgeEvent,
  error: unknown,
): Promise<void> {
  if (!target.deadLetter) {
    ctx.stats.dropped++;
    ctx.onDropped(event, target.id, error);
    return;
  }
  try {
    await target.deadLetter(structuredClone(event), error);
    ctx.stats.deadLettered++;
  } catch (dlqError) {
    ctx.stats.dropped++;
    ctx.onDropped(event, target.id, new AggregateError([error, dlqError], 'Dead-letter delivery failed'));
  }
}

/**
 * Delivers one event to one target: first attempt, then retries with backoff while the policy allows,
 * then the dead letter. Resolves when the event has been delivered or handed off; never rejects.
 */
export async function deliverWithRetry(
  ctx: DeliveryContext,
  backoff: Backoff,
  target: BusTarget,
  event: EventBridgeEvent,
): Promise<void> {
  const policy = target.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const ingestedAt = ctx.now();
  let lastError: unknown;
  for (let attempt = 0; attempt <= policy.maximumRetryAttempts; attempt++) {
    if (attempt > 0) {
      const delay = retryDelay(ctx, attempt);
      if (ctx.now() + delay - ingestedAt > policy.maximumEventAgeSeconds * 1000) break;
      if (!(await backoff.wait(delay))) {
        // Closing the bus ends the wait: the event goes to the dead letter with the last real failure as cause.
        lastError = new EventBusClosedError(ctx.busName, { cause: lastError });
        break;
      }
      ctx.stats.retries++;
    }
    try {
      await ctx.limitFor(target).run(() => target.deliver(structuredClone(event)));
      ctx.stats.delivered++;
      return;
    } catch (error) {
      if (error instanceof FunctionError && target.asyncInvoke) {
        const policy = target.asyncInvoke;
        await retryAsLambda(ctx, backoff, { target, policy, event, first: error, acceptedAt: ingestedAt });
        return;
      }
      lastError = error;
    }
  }
  await giveUp(ctx, target, event, lastError);
}

/**
 * A Lambda target whose function failed: EventBridge's part is done (Lambda accepted the event), and Lambda
 * retries the invocation on its own schedule (`retryDelaysMs`, at most `maximumRetryAttempts`, while the
 * event is younger than `maximumEventAgeMs`), then hands it to the on-failure destination, or drops it.
 */
async function retryAsLambda(
  ctx: DeliveryContext,
  backoff: Backoff,
  failed: {
    target: BusTarget;
    policy: AsyncInvokePolicy;
    event: EventBridgeEvent;
    first: FunctionError;
    acceptedAt: number;
  },
): Promise<void> {
  const { target, policy, event, first, acceptedAt } = failed;
  let error: unknown = first.cause;
  let invocations = 1;
  let condition: AsyncInvokeCondition = 'RetriesExhausted';
  for (let retry = 0; retry < policy.maximumRetryAttempts; retry++) {
    const delays = policy.retryDelaysMs;
    const delay = delays[Math.min(retry, delays.length - 1)] ?? 0;
    if (ctx.now() + delay - acceptedAt > policy.maximumEventAgeMs) {
      condition = 'EventAgeExceeded';
      break;
    }
    if (!(await backoff.wait(delay))) break; // the bus closes: what Lambda held goes to the destination
    ctx.stats.functionRetries++;
    invocations++;
    try {
      await ctx.limitFor(target).run(() => target.deliver(structuredClone(event)));
      ctx.stats.delivered++;
      return;
    } catch (again) {
      error = again instanceof FunctionError ? again.cause : again;
    }
  }
  ctx.stats.functionFailures++;
  if (!policy.onFailure) {
    ctx.stats.dropped++;
    ctx.onDropped(event, target.id, error);
    return;
  }
  try {
    await policy.onFailure(structuredClone(event), { condition, approximateInvokeCount: invocations, error });
  } catch (destinationError) {
    ctx.stats.dropped++;
    ctx.onDropped(
      event,
      target.id,
      new AggregateError([error, destinationError], 'On-failure destination failed'),
    );
  }
}
