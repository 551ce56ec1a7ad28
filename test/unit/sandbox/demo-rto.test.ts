import { describe, expect, it } from 'vitest';
import { firstSuccessSentAfter } from '../../../lib/sandbox/demo/clients.ts';

describe('the demo RTO (kill -> first successful write)', () => {
  const killedAt = 10_000;

  it('does not count a write sent before the kill and answered just after it', () => {
    // In flight when the region was killed: answered 1 ms later, before anything recovered.
    const inFlight = { sentAt: 9_900, answeredAt: 10_001 };
    const recovered = { sentAt: 35_000, answeredAt: 35_400 };
    expect(firstSuccessSentAfter([inFlight, recovered], killedAt)).toBe(35_400);
  });

  it('takes the earliest answer among writes sent after the kill, in any order', () => {
    const late = { sentAt: 30_000, answeredAt: 41_000 };
    const early = { sentAt: 33_000, answeredAt: 33_500 };
    expect(firstSuccessSentAfter([late, early], killedAt)).toBe(33_500);
  });

  it('has no RTO while no write sent after the kill succeeded', () => {
    expect(firstSuccessSentAfter([{ sentAt: 9_000, answeredAt: 12_000 }], killedAt)).toBeUndefined();
    expect(firstSuccessSentAfter(undefined, killedAt)).toBeUndefined();
  });
});
