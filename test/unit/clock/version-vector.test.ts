import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareVectors,
  dominates,
  incrementVector,
  mergeVectors,
  type VersionVector,
} from '../../../lib/clock/index.ts';

const vvArb: fc.Arbitrary<VersionVector> = fc.dictionary(
  fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-1'),
  fc.integer({ min: 0, max: 5 }),
);

describe('version vectors', () => {
  it('orders two writes that saw each other and flags two that did not as concurrent', () => {
    const base = incrementVector({}, 'us-east-1');
    const east = incrementVector(base, 'us-east-1');
    const west = incrementVector(base, 'eu-west-1');
    expect(compareVectors(base, east)).toBe('before');
    expect(compareVectors(east, west)).toBe('concurrent');
    const merged = incrementVector(mergeVectors(east, west), 'eu-west-1');
    expect(compareVectors(merged, east)).toBe('after');
    expect(compareVectors(merged, west)).toBe('after');
  });

  it('compares antisymmetrically, whatever the vectors', () => {
    const flip = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    fc.assert(
      fc.property(vvArb, vvArb, (a, b) => {
        expect(compareVectors(b, a)).toBe(flip[compareVectors(a, b)]);
      }),
    );
  });

  it('merges to a vector that dominates both sides, with keys in the same order everywhere', () => {
    fc.assert(
      fc.property(vvArb, vvArb, (a, b) => {
        const merged = mergeVectors(a, b);
        expect(dominates(merged, a) && dominates(merged, b)).toBe(true);
        expect(JSON.stringify(merged)).toBe(JSON.stringify(mergeVectors(b, a)));
      }),
    );
  });
});
