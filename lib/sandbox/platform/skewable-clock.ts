/**
 * A region's wall clock: `Date.now()` plus an offset the chaos nemesis sets (clock skew). Every
 * HybridLogicalClock of the region reads it through `now`.
 * @example const wall = new SkewableClock(); wall.offsetMs = 250; new HybridLogicalClock({ region, wallClock: wall.now });
 */
export class SkewableClock {
  offsetMs = 0;
  /** Epoch ms as this region sees it (bound: pass it as a `wallClock`). */
  readonly now = (): number => Date.now() + this.offsetMs;
}
