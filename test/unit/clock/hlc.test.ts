import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClockDriftError,
  compareHlc,
  decodeHlc,
  encodeHlc,
  type Hlc,
  HybridLogicalClock,
  MAX_LOGICAL,
} from '../../../lib/clock/index.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'eu-west-10'];
const hlcArb: fc.Arbitrary<Hlc> = fc.record({
  wall: fc.integer({ min: 0, max: 2 ** 47 }),
  logical: fc.integer({ min: 0, max: MAX_LOGICAL }),
  region: fc.constantFrom(...REGIONS),
});

/** A wall clock driven by a list of readings (it may go backwards). */
function scriptedClock(readings: number[]): () => number {
  let i = 0;
  return () => readings[Math.min(i++, readings.length - 1)] ?? 0;
}

describe('hybrid logical clock', () => {
  it('is monotonic even when the wall clock goes backwards', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_000, max: 1_100 }), { minLength: 2, maxLength: 60 }),
        (readings) => {
          const clock = new HybridLogicalClock({ region: 'eu-west-1', wallClock: scriptedClock(readings) });
          let previous = clock.now();
          for (let i = 1; i < readings.length; i++) {
            const next = clock.now();
            expect(compareHlc(next, previous)).toBe(1);
            previous = next;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns from receive() a timestamp greater than both the remote one and the last local one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), hlcArb, fc.integer({ min: 0, max: 2 ** 47 })), { maxLength: 40 }),
        (steps) => {
          let wall = 0;
          const clock = new HybridLogicalClock({
            region: 'us-east-1',
            wallClock: () => wall,
            maxDriftMs: 2 ** 48,
          });
          for (const [isReceive, remote, reading] of steps) {
            wall = reading;
            const before = clock.current();
            const stamp = isReceive ? clock.receive(remote) : clock.now();
            expect(compareHlc(stamp, before)).toBe(1);
            if (isReceive) expect(compareHlc(stamp, remote)).toBe(1);
            expect(stamp.wall).toBeGreaterThanOrEqual(Math.min(reading, stamp.wall));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encodes so that string order equals logical order, region as the final tie-break', () => {
    fc.assert(
      fc.property(hlcArb, hlcArb, (a, b) => {
        const byString = Math.sign(encodeHlc(a) < encodeHlc(b) ? -1 : encodeHlc(a) > encodeHlc(b) ? 1 : 0);
        expect(byString).toBe(compareHlc(a, b));
        expect(decodeHlc(encodeHlc(a))).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a remote timestamp more than maxDriftMs ahead, naming the drift', () => {
    const clock = new HybridLogicalClock({ region: 'us-east-1', wallClock: () => 10_000, maxDriftMs: 500 });
    const remote = { wall: 10_501, logical: 0, region: 'eu-west-1' };
    expect(() => clock.receive(remote)).toThrow(ClockDriftError);
    expect(() => clock.receive(remote)).toThrow('501 ms ahead');
    const atTheLimit = { ...remote, wall: 10_500 };
    expect(compareHlc(clock.receive(atTheLimit), atTheLimit)).toBe(1);
  });

  it('borrows the next millisecond instead of overflowing the logical counter', () => {
    const clock = new HybridLogicalClock({ region: 'us-east-1', wallClock: () => 5, maxDriftMs: 10 });
    clock.receive({ wall: 5, logical: MAX_LOGICAL - 1, region: 'eu-west-1' });
    const next = clock.now();
    expect(next).toEqual({ wall: 6, logical: 0, region: 'us-east-1' });
    expect(encodeHlc(next) > encodeHlc({ wall: 5, logical: MAX_LOGICAL, region: 'us-east-1' })).toBe(true);
  });
});
