import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  handleAll,
  type IBreaker,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { CircuitOpenError, PeerTimeoutError } from './errors.ts';

export const BREAKER_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

export interface ServiceBreakerOptions {
  /** Share of failed calls (0..1, exclusive) over the sampling window that opens the breaker. */
  readonly errorRate: number;
  /** A call slower than this counts as a failure, even if it succeeded. */
  readonly latencyMs: number;
  /** Time the breaker stays open before letting one trial call through (half-open). */
  readonly halfOpenAfterMs: number;
  /** Sampling window of the error rate (default 10 s). */
  readonly samplingMs?: number;
  /** Below this many calls per second the breaker never opens (default 1; cockatiel's own default is 5/rate). */
  readonly minimumRps?: number;
  /** A cockatiel breaker to use instead of the sampling one (e.g. `new ConsecutiveBreaker(3)`). */
  readonly breaker?: () => IBreaker;
}

/** Breaker options from the topology's thresholds. */
export function serviceBreakerOptions(thresholds: {
  readonly breakerErrorRate: number;
  readonly breakerLatencyMs: number;
  readonly breakerHalfOpenAfterMs: number;
}): ServiceBreakerOptions {
  return {
    // cockatiel wants a rate strictly below 1.
    errorRate: Math.min(thresholds.breakerErrorRate, 0.99),
    latencyMs: thresholds.breakerLatencyMs,
    halfOpenAfterMs: thresholds.breakerHalfOpenAfterMs,
  };
}

interface Timed<T> {
  readonly value: T;
  readonly elapsedMs: number;
  readonly failed: boolean;
}

export interface CallOptions<T> {
  readonly timeoutMs?: number;
  /** A result that counts as a failure for the breaker (e.g. an HTTP 5xx); it is still returned. */
  readonly isFailure?: (value: T) => boolean;
}

/**
 * The service breaker around calls to one peer region: closed -> open on error rate (errors, timeouts,
 * results judged failures and slow calls) -> half-open after a pause -> closed on a good trial call.
 * The state machine is cockatiel's; this class adds the latency rule, timeouts and typed errors.
 * @example const response = await breaker.execute((signal) => transport.send('eu-west-1', request, signal), { timeoutMs: 3_000 });
 */
export class ServiceBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private openedAt = 0;

  constructor(
    readonly peer: string,
    private readonly options: ServiceBreakerOptions,
  ) {
    const latencyMs = options.latencyMs;
    this.policy = circuitBreaker(
      handleAll.orWhenResult(
        (r) => (r as Timed<unknown>).failed || (r as Timed<unknown>).elapsedMs > latencyMs,
      ),
      {
        halfOpenAfter: options.halfOpenAfterMs,
        breaker:
          options.breaker?.() ??
          new SamplingBreaker({
            threshold: options.errorRate,
            duration: options.samplingMs ?? 10_000,
            minimumRps: options.minimumRps ?? 1,
          }),
      },
    );
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
    });
  }

  /** Current state. */
  get state(): BreakerState {
    return STATE_NAMES[this.policy.state];
  }

  /** Subscribes to state changes (for logs and metrics). */
  onStateChange(listener: (state: BreakerState) => void): void {
    this.policy.onStateChange((state) => listener(STATE_NAMES[state]));
  }

  /** Runs `call` through the breaker; CircuitOpenError when open, PeerTimeoutError on timeout. */
  async execute<T>(call: (signal: AbortSignal) => Promise<T>, options: CallOptions<T> = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 0;
    const timed = async (signal: AbortSignal): Promise<Timed<T>> => {
      const started = performance.now();
      const value = await call(signal);
      return { value, elapsedMs: performance.now() - started, failed: options.isFailure?.(value) ?? false };
    };
    try {
      const result = await this.policy.execute(({ signal }) =>
        timeoutMs > 0
          ? timeout(timeoutMs, TimeoutStrategy.Aggressive).execute((_, inner) => timed(inner), signal)
          : timed(signal),
      );
      return result.value;
    } catch (error) {
      if (error instanceof BrokenCircuitError)
        throw new CircuitOpenError(this.peer, this.retryAfterMs(), { cause: error });
      if (error instanceof TaskCancelledError)
        throw new PeerTimeoutError(this.peer, timeoutMs, { cause: error });
      throw error;
    }
  }

  /** How long until an open breaker lets a trial call through (0 when not open). */
  retryAfterMs(): number {
    if (this.state !== 'open' && this.state !== 'isolated') return 0;
    return Math.max(0, this.openedAt + this.options.halfOpenAfterMs - Date.now());
  }
}

/** One service breaker per peer region, created on first use. */
export class ServiceBreakers {
  private readonly breakers = new Map<string, ServiceBreaker>();

  constructor(private readonly options: ServiceBreakerOptions) {}

  /** The breaker for `peer`. */
  for(peer: string): ServiceBreaker {
    let breaker = this.breakers.get(peer);
    if (!breaker) {
      breaker = new ServiceBreaker(peer, this.options);
      this.breakers.set(peer, breaker);
    }
    return breaker;
  }

  /** States by peer (for /health). */
  snapshot(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([peer, b]) => [peer, b.state]));
  }
}
