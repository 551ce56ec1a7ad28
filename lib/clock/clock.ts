import { ClockDriftError, compareHlc, type Hlc, MAX_LOGICAL } from './hlc.ts';

export interface HybridLogicalClockOptions {
  /** The region this clock stamps events for (the final tie-break). */
  region: string;
  /** Physical clock in epoch ms; injectable so tests and the sandbox can skew it. */
  wallClock?: () => number;
  /** Remote timestamps further ahead than this are refused. */
  maxDriftMs?: number;
}

/**
 * Hybrid logical clock (Kulkarni et al.): never goes backwards even when the wall clock does, and every
 * timestamp issued after receiving a remote one is greater than it.
 * @example const clock = new HybridLogicalClock({ region: 'eu-west-1' }); const t = clock.now();
 */
export class HybridLogicalClock {
  readonly region: string;
  readonly maxDriftMs: number;
  private readonly wallClock: () => number;
  private last: Hlc;

  constructor(options: HybridLogicalClockOptions) {
    this.region = options.region;
    this.wallClock = options.wallClock ?? Date.now;
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
    this.last = { wall: 0, logical: 0, region: this.region };
  }

  /** A new timestamp for a local event. */
  now(): Hlc {
    const physical = this.wallClock();
    if (physical > this.last.wall) return this.issue(physical, 0);
    return this.issue(this.last.wall, this.last.logical + 1);
  }

  /** Merges a remote timestamp; the result is greater than both it and every timestamp issued before. */
  receive(remote: Hlc): Hlc {
    const physical = this.wallClock();
    if (remote.wall - physical > this.maxDriftMs)
      throw new ClockDriftError(remote, physical, this.maxDriftMs);
    const wall = Math.max(physical, this.last.wall, remote.wall);
    if (wall === this.last.wall && wall === remote.wall) {
      return this.issue(wall, Math.max(this.last.logical, remote.logical) + 1);
    }
    if (wall === this.last.wall) return this.issue(wall, this.last.logical + 1);
    if (wall === remote.wall) return this.issue(wall, remote.logical + 1);
    return this.issue(wall, 0);
  }

  /**
   * The present by this clock, in epoch ms, without issuing a timestamp: the wall clock, or the newest
   * timestamp issued or received when that is ahead of it. What a decider compares an expiry with.
   */
  wallNow(): number {
    return Math.max(this.wallClock(), this.last.wall);
  }

  /** The last timestamp issued (wall 0 before the first). */
  current(): Hlc {
    return this.last;
  }

  private issue(wall: number, logical: number): Hlc {
    // The encoding has room for MAX_LOGICAL; borrow the next millisecond rather than overflow.
    const next = logical > MAX_LOGICAL ? { wall: wall + 1, logical: 0 } : { wall, logical };
    const stamp = { ...next, region: this.region };
    if (compareHlc(stamp, this.last) <= 0) throw new Error('HLC invariant broken: timestamp did not advance');
    this.last = stamp;
    return stamp;
  }
}
