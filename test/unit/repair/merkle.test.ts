import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  buildMerkleTree,
  diffBuckets,
  type EventLeaf,
  planReplay,
  rootOf,
} from '../../../lib/repair/index.ts';

const leafArb: fc.Arbitrary<EventLeaf> = fc.record({
  eventId: fc.stringMatching(/^[0-9A-Z]{6}$/),
  aggregateKey: fc.constantFrom(
    'account#a',
    'account#b',
    'profile#c',
    'profile#d',
    'activity#e',
    'activity#f',
  ),
});

describe('Merkle trees over a partition', () => {
  it('gives equal roots for the same set of events in any order, with duplicates', () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 40 }), (leaves) => {
        const shuffled = [...leaves, ...leaves.slice(0, 3)].reverse();
        expect(rootOf(buildMerkleTree(shuffled, 16))).toBe(rootOf(buildMerkleTree(leaves, 16)));
      }),
    );
  });

  it('reports exactly the buckets whose event sets differ', () => {
    fc.assert(
      fc.property(
        fc.array(leafArb, { maxLength: 40 }),
        fc.array(leafArb, { maxLength: 10 }),
        (common, extra) => {
          const a = buildMerkleTree(common, 8);
          const b = buildMerkleTree([...common, ...extra], 8);
          const ids = (bucket: number, leaves: EventLeaf[]) =>
            [...new Set(leaves.filter((l) => bucketOf(l.aggregateKey, 8) === bucket).map((l) => l.eventId))]
              .sort()
              .join();
          const expected = Array.from({ length: 8 }, (_, i) => i).filter(
            (i) => ids(i, common) !== ids(i, [...common, ...extra]),
          );
          expect(diffBuckets([a, b]).sort((x, y) => x - y)).toEqual(expected);
        },
      ),
    );
  });

  it('refuses a bucket count that is not a power of two', () => {
    expect(() => buildMerkleTree([], 12)).toThrow('power of two');
  });
});

describe('replay plan', () => {
  it('gives every region exactly the events it lacks, each from a region that has it', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(leafArb, fc.subarray(['us-east-1', 'eu-west-1', 'ap-southeast-1'], { minLength: 1 })),
          {
            maxLength: 30,
          },
        ),
        (placed) => {
          const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
          const byRegion = new Map(
            regions.map((r) => [r, placed.filter(([, at]) => at.includes(r)).map(([l]) => l)]),
          );
          const plan = planReplay(byRegion);
          const union = new Set(placed.map(([l]) => l.eventId));
          for (const region of regions) {
            const own = new Set(byRegion.get(region)!.map((l) => l.eventId));
            const lacking = plan.missing.get(region) ?? [];
            expect(new Set([...own, ...lacking.map((x) => x.eventId)])).toEqual(union);
            for (const { eventId, source } of lacking) {
              expect(byRegion.get(source)!.some((l) => l.eventId === eventId)).toBe(true);
            }
          }
        },
      ),
    );
  });
});
