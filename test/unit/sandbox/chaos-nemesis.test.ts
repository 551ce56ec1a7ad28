import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { faultKindsFor, skewBounds } from '../../../lib/sandbox/chaos/index.ts';
import { drawRegions, largestMinority } from '../../../lib/sandbox/chaos/majority-faults.ts';
import { RUNBOOK_KINDS } from '../../../lib/sandbox/chaos/nemesis.ts';
import { seededRandom } from '../../../lib/sandbox/chaos/random.ts';
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

  it('draws no runbook fault for a build without fencing (no single writer to move), and the rest as usual', () => {
    for (const env of ['dev', 'prod', 'world'] as const) {
      const topology = bank.topology(env);
      const unfenced = faultKindsFor(topology, { fencing: false });
      for (const kind of RUNBOOK_KINDS) expect(unfenced).not.toContain(kind);
      expect(unfenced).toEqual(
        faultKindsFor(topology).filter((k) => !(RUNBOOK_KINDS as readonly string[]).includes(k)),
      );
      expect(unfenced).toContain('kill-region');
    }
    expect(faultKindsFor(bank.topology('dev'))).toContain('runbook-during-fault');
  });

  it('takes a minority of two regions down or off only with five regions (with three the largest minority is one)', () => {
    expect(largestMinority(3)).toBe(1);
    expect(largestMinority(4)).toBe(1);
    expect(largestMinority(5)).toBe(2);
    for (const env of ['dev', 'prod'] as const)
      expect(faultKindsFor(bank.topology(env))).not.toEqual(expect.arrayContaining(['kill-minority']));
    expect(faultKindsFor(bank.topology('prod'))).not.toContain('split-minority');
    expect(faultKindsFor(bank.topology('world'))).toEqual(
      expect.arrayContaining(['kill-minority', 'split-minority', 'quorum-copy-elsewhere', 'kill-region']),
    );
  });

  it('draws distinct regions for a minority', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const random = seededRandom(7);
    for (let i = 0; i < 50; i++) {
      const drawn = drawRegions(random, names, 2);
      expect(new Set(drawn).size).toBe(2);
      expect(drawn.every((n) => names.includes(n))).toBe(true);
    }
  });
});
