import { describe, expect, it } from 'vitest';
import { coveredMs, outageWindows } from '../../../lib/sandbox/chaos/outages.ts';
import type { RunbookRun } from '../../../lib/sandbox/chaos/runbook-starter.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

const run = (
  runbook: RunbookRun['runbook'],
  at: number,
  input: Record<string, unknown> = {},
): RunbookRun => ({
  runbook,
  region: 'us-east-1',
  input,
  at,
  status: 'SUCCEEDED',
  durationMs: 500,
});

describe('outage windows of a chaos run (the hold bound does not run while its homes cannot write)', () => {
  it('counts the union of overlapping windows once, clipped to the asked span', () => {
    const windows = [
      { from: 100, to: 300 },
      { from: 200, to: 400 },
      { from: 600, to: 700 },
    ];
    expect(coveredMs(windows, 0, 1_000)).toBe(400);
    expect(coveredMs(windows, 250, 650)).toBe(200);
    expect(coveredMs(windows, 400, 600)).toBe(0);
  });

  it('counts only the windows that stop one of the homes', () => {
    const windows = [
      { from: 100, to: 300, regions: ['eu-west-1'] },
      { from: 200, to: 400, regions: ['us-east-1', 'ap-southeast-1'] },
      { from: 600, to: 700 },
    ];
    expect(coveredMs(windows, 0, 1_000, ['eu-west-1'])).toBe(300);
    expect(coveredMs(windows, 0, 1_000, ['ap-southeast-1'])).toBe(300);
    expect(coveredMs(windows, 0, 1_000, ['us-east-1', 'eu-west-1'])).toBe(400);
  });

  it('takes the faults that keep a home from writing for the regions they name, runbooks that move partitions, and the restore', () => {
    const windows = outageWindows({
      started: 10_000,
      seconds: 20,
      restoredAt: 35_000,
      regions: REGIONS,
      faults: [
        { kind: 'kill-region', target: 'eu-west-1', at: 1_000, healedAt: 4_000 },
        // A home still reaches a majority through its other peer: no outage.
        { kind: 'partition-pair', target: 'us-east-1|eu-west-1', at: 2_000, healedAt: 3_000 },
        {
          kind: 'latency-spike',
          target: 'us-east-1|eu-west-1 {"latencyMs":900}',
          at: 2_000,
          healedAt: 3_000,
        },
        { kind: 'duplicate-reorder', target: 'us-east-1', at: 5_000, healedAt: 6_000 },
      ],
      runbooks: [
        run('Failback', 8_000),
        run('Repair', 9_000),
        {
          ...run('Failover', 11_000, { region: 'eu-west-1' }),
          collected: {
            aggregatesChecked: 1,
            eventsCollected: 0,
            blocked: [],
            moved: [{ partition: 3, home: 'us-east-1', epoch: 4 }],
          },
        },
      ],
    });
    expect(windows).toEqual([
      { from: 11_000, to: 14_000, regions: ['eu-west-1'] },
      { from: 18_000, to: 18_500 },
      { from: 21_000, to: 21_500, regions: ['eu-west-1', 'us-east-1'] },
      { from: 30_000, to: 35_000 },
    ]);
    // A hold homed in ap-southeast-1 waited for none of them but the Failback and the restore.
    expect(coveredMs(windows, 10_000, 35_000, ['ap-southeast-1'])).toBe(5_500);
  });

  it('scopes a minority killed or split off (five regions) to the regions of the minority only', () => {
    const five = [...REGIONS, 'us-west-2', 'ap-northeast-1'];
    const windows = outageWindows({
      started: 0,
      seconds: 20,
      restoredAt: 20_000,
      regions: five,
      runbooks: [],
      faults: [
        { kind: 'kill-minority', target: 'eu-west-1+ap-southeast-1', at: 1_000, healedAt: 3_000 },
        { kind: 'split-minority', target: 'us-west-2+ap-northeast-1 vs rest', at: 5_000, healedAt: 8_000 },
      ],
    });
    expect(windows.slice(0, 2)).toEqual([
      { from: 1_000, to: 3_000, regions: ['eu-west-1', 'ap-southeast-1'] },
      { from: 5_000, to: 8_000, regions: ['us-west-2', 'ap-northeast-1'] },
    ]);
    // The majority side's homes write on: no window of either fault covers us-east-1.
    expect(coveredMs(windows, 0, 10_000, ['us-east-1'])).toBe(0);
    expect(coveredMs(windows, 0, 10_000, ['ap-northeast-1'])).toBe(3_000);
  });
});
