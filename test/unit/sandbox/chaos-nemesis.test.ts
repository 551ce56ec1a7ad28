import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { faultKindsFor, skewBounds } from '../../../lib/sandbox/chaos/index.ts';
import { fastTiming } from '../../../lib/sandbox/platform/timing.ts';

describe('chaos nemesis plan', () => {
  it('skews a clock within the declared clock offset, and beyond it up to what the skew margin covers', () => {
    const timing = fastTiming();
    const { maxClockOffsetMs, skewMarginMs, appendTimeoutMs } = timing.fencing;
    const within = skewBounds(timing, 'clock-skew');
    const margin = skewBounds(timing, 'clock-skew-margin');
    expect(within.max).toBe(maxClockOffsetMs);
    expect(margin.max + appendTimeoutMs).toBeLessThan(skewMarginMs);
    expect(margin.min).toBeGreaterThanOrEqual(within.max);
  });

  it('draws the quorum-copy fault only where core writes are quorum-acknowledged', () => {
    expect(faultKindsFor(bank.topology('dev'))).not.toContain('quorum-copy-elsewhere');
    expect(faultKindsFor(bank.topology('prod'))).toEqual(
      expect.arrayContaining([
        'quorum-copy-elsewhere',
        'forked-orphan-failback',
        'failover-during-switchover',
      ]),
    );
  });
});
