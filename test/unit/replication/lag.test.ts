import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { lagMs } from '../../../lib/replication/index.ts';

describe('lagMs', () => {
  it('is now minus the wall time of the newest HLC applied from the origin', () => {
    const hlc = encodeHlc({ wall: 1_000_000, logical: 7, region: 'eu-west-1' });
    expect(lagMs(1_002_500, { hlc })).toBe(2_500);
  });

  it('is null when nothing was ever applied, and never negative under clock skew', () => {
    expect(lagMs(5, undefined)).toBeNull();
    expect(lagMs(1_000, { hlc: encodeHlc({ wall: 2_000, logical: 0, region: 'eu-west-1' }) })).toBe(0);
  });
});
