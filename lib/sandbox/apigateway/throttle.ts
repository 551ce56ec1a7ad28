import type { RouteThrottle } from './spec.ts';

/**
 * API Gateway's throttle for one route: a token bucket of `burstLimit` tokens refilled at `rateLimit`
 * per second; a request that finds it empty is answered 429 before any authorizer or function runs.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly limits: RouteThrottle,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burstLimit;
    this.refilledAt = now();
  }

  /** Takes a token; false when the bucket is empty. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      this.limits.burstLimit,
      this.tokens + ((now - this.refilledAt) / 1_000) * this.limits.rateLimit,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
