import { describe, expect, it } from 'vitest';
import { ackRatio, nearestMajorityRttMs } from '../../../bench/quorum-floor.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology } from '../../../lib/config/index.ts';

const prod = bank.topology('prod');

/** Five regions, one-way latencies from the home `a`: b 10, c 40, d 20, e 80. */
const five = parseTopology({
  ...prod,
  regions: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name: `xx-${name}-1` })),
  latencyMs: {
    'xx-a-1|xx-b-1': 10,
    'xx-a-1|xx-c-1': 40,
    'xx-a-1|xx-d-1': 20,
    'xx-e-1|xx-a-1': 80,
  },
});

describe('nearestMajorityRttMs', () => {
  it('is the RTT to the nearest peer of three regions (one peer makes a majority)', () => {
    expect(nearestMajorityRttMs(prod, 'us-east-1')).toBe(74);
    expect(nearestMajorityRttMs(prod, 'eu-west-1')).toBe(74);
    expect(nearestMajorityRttMs(prod, 'ap-southeast-1')).toBe(182);
  });

  it('is the RTT to the second-nearest peer of five regions (two peers make a majority)', () => {
    expect(nearestMajorityRttMs(five, 'xx-a-1')).toBe(40);
  });
});

describe('ackRatio', () => {
  it('divides the extra latency of the quorum ack by the RTT', () => {
    expect(ackRatio(180, 60, 100)).toBe(1.2);
    expect(ackRatio(50, 60, 100)).toBe(-0.1);
  });

  it('is NaN without an RTT', () => {
    expect(ackRatio(1, 0, 0)).toBeNaN();
  });
});
