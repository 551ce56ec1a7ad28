import { describe, expect, it } from 'vitest';
import { steadyFailover } from '../../../bench/failover-scale.ts';
import type { Figure } from '../../../bench/report.ts';

/** A stand-in for one Failover run: the times given, one per call, with a per-task figure naming the run. */
function runsTaking(times: number[]) {
  let call = 0;
  return async (partitions: number): Promise<{ ms: number; figures: Figure[] }> => {
    const ms = times[call++]!;
    return {
      ms,
      figures: [
        {
          figure: `Failover state machine execution, ${partitions} partitions`,
          value: ms,
          unit: 'ms',
          target: 'reference',
          met: null,
        },
        {
          figure: `  FencePartitions, ${partitions} partitions`,
          value: ms / 4,
          unit: 'ms',
          target: 'reference',
          met: null,
        },
      ],
    };
  };
}

describe('Failover under 1 s, steadily (failover-scale bench)', () => {
  it('is not met when one run of five is slower than 1 s, even with a fast median', async () => {
    const figures = await steadyFailover(256, 5, runsTaking([700, 650, 1_200, 720, 690]));
    const [median, slowest] = figures;
    expect(median).toMatchObject({ value: 700, met: true });
    expect(slowest).toMatchObject({ value: 1_200, met: false });
  });

  it('is met when every run is under 1 s, and reports the median run per task', async () => {
    const figures = await steadyFailover(256, 3, runsTaking([800, 600, 900]));
    expect(figures[0]).toMatchObject({ value: 800, met: true });
    expect(figures[1]).toMatchObject({ value: 900, met: true });
    expect(figures.find((f) => f.figure.includes('FencePartitions'))).toMatchObject({
      figure: '  FencePartitions, 256 partitions (median run)',
      value: 200,
    });
  });
});
