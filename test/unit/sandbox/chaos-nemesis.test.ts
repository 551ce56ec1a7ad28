import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../../lib/config/index.ts';
import { faultKindsFor, skewBounds } from '../../../lib/sandbox/chaos/index.ts';
import { fastTiming } from '../../../lib/sandbox/platform/timing.ts';

describe('chaos nemesis plan', () => {
  it('skews a clock within half the skew margin, and up to the whole margin as a separate fault', () => {
    const timing = fastTiming();
    const within = skewBounds(timing, 'clock-skew');
    const margin = skewBounds(timing, 'clock-skew-margin');
    expect(within.max).toBe(timing.skewMarginMs / 2);
    expect(margin).toEqual({ min: 0.75 * timing.skewMarginMs, max: timing.skewMarginMs });
  });

  it('draws the quorum-copy fault only where core writes are quorum-acknowledged', () => {
    expect(faultKindsFor(loadTopology('dev'))).not.toContain('quorum-copy-elsewhere');
    expect(faultKindsFor(loadTopology('prod'))).toEqual(
      expect.arrayContaining([
        'quorum-copy-elsewhere',
        'forked-orphan-failback',
        'failover-during-switchover',
      ]),
    );
  });
});
