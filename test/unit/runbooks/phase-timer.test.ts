import { describe, expect, it } from 'vitest';
import { PhaseTimer } from '../../../lib/runbooks/phase-timer.ts';

describe('PhaseTimer (where a runbook task’s time went)', () => {
  it('sums a phase per key and reports the longest key’s sum', () => {
    const timer = new PhaseTimer();
    timer.add('logs', 30, 'p1');
    timer.add('logs', 50, 'p1');
    timer.add('logs', 70, 'p2');
    timer.add('confirm', 12.4);
    const report = timer.report();
    expect(report.logs).toBe(80);
    expect(report.confirm).toBe(12);
    expect(report.total).toBeGreaterThanOrEqual(0);
  });

  it('times a step even when it throws, and passes its result or error through', async () => {
    const timer = new PhaseTimer();
    await expect(timer.time('ok', async () => 7)).resolves.toBe(7);
    await expect(
      timer.time('failed', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(Object.keys(timer.report()).sort()).toEqual(['failed', 'ok', 'total']);
  });
});
