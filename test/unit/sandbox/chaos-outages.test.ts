import { describe, expect, it } from 'vitest';
import { coveredMs, outageWindows } from '../../../lib/sandbox/chaos/verify-run.ts';

describe('outage windows of a chaos run (the hold bound does not run during them)', () => {
  it('counts the union of overlapping windows once, clipped to the asked span', () => {
    const windows: Array<[number, number]> = [
      [100, 300],
      [200, 400],
      [600, 700],
    ];
    expect(coveredMs(windows, 0, 1_000)).toBe(400);
    expect(coveredMs(windows, 250, 650)).toBe(200);
    expect(coveredMs(windows, 400, 600)).toBe(0);
  });

  it('takes the faults that keep homes from writing, every runbook and the restore after the run', () => {
    const windows = outageWindows({
      started: 10_000,
      seconds: 20,
      restoredAt: 35_000,
      faults: [
        { kind: 'kill-region', target: 'eu-west-1', at: 1_000, healedAt: 4_000 },
        { kind: 'duplicate-reorder', target: 'us-east-1', at: 5_000, healedAt: 6_000 },
      ],
      runbooks: [
        {
          runbook: 'Failback',
          region: 'us-east-1',
          input: {},
          at: 8_000,
          status: 'SUCCEEDED',
          durationMs: 500,
        },
      ],
    });
    expect(windows).toEqual([
      [11_000, 14_000],
      [18_000, 18_500],
      [30_000, 35_000],
    ]);
  });
});
