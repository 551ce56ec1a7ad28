import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { type ProbeAttempt, probeWindow } from '../../../bench/core-probes.ts';
import { stateSpans } from '../../../bench/execution-breakdown.ts';

const ok = (sentAt: number, latency = 500): ProbeAttempt => ({
  sentAt,
  answeredAt: sentAt + latency,
  status: 200,
});
const no = (sentAt: number, status = 503, error = 'PartitionFencedError'): ProbeAttempt => ({
  sentAt,
  answeredAt: sentAt + 100,
  status,
  error,
});

describe('probeWindow', () => {
  it('spans the first refused send to the first successful send after the last refusal, whatever the latency', () => {
    // Sent every 50 ms; successes take 2 s to answer: the window is not the gap between answers.
    const attempts = [ok(0, 2_000), no(50), no(100, 421, 'NotHome'), no(150), ok(200, 2_000), ok(250, 2_000)];
    const window = probeWindow(7, attempts.reverse());
    expect(window).toMatchObject({ partition: 7, unavailableMs: 150, refused: 3, recoveredAt: 200 });
    expect(window.reasons).toEqual({ '503 PartitionFencedError': 2, '421 NotHome': 1 });
  });

  it('ignores refusals outside the span, and is infinite when no write succeeded after the refusals', () => {
    const attempts = [no(0), ok(1_000), no(5_000), no(5_050)];
    expect(probeWindow(1, attempts, { from: 4_000, to: 6_000 }).unavailableMs).toBe(Number.POSITIVE_INFINITY);
    expect(probeWindow(1, [no(0), ok(1_000)], { from: 4_000, to: 6_000 }).unavailableMs).toBe(0);
  });
});

describe('stateSpans', () => {
  it('times each state from entered to exited and numbers the repeated ones', () => {
    const at = (ms: number) => new Date(10_000 + ms);
    const history = [
      { type: 'TaskStateEntered', timestamp: at(0), stateEnteredEventDetails: { name: 'Fence' } },
      { type: 'TaskStateExited', timestamp: at(300), stateExitedEventDetails: { name: 'Fence' } },
      { type: 'TaskStateEntered', timestamp: at(300), stateEnteredEventDetails: { name: 'CheckWatermark' } },
      { type: 'TaskStateExited', timestamp: at(900), stateExitedEventDetails: { name: 'CheckWatermark' } },
      {
        type: 'WaitStateEntered',
        timestamp: at(900),
        stateEnteredEventDetails: { name: 'WaitForWatermark' },
      },
      { type: 'WaitStateExited', timestamp: at(940), stateExitedEventDetails: { name: 'WaitForWatermark' } },
      { type: 'TaskStateEntered', timestamp: at(940), stateEnteredEventDetails: { name: 'CheckWatermark' } },
      { type: 'TaskStateExited', timestamp: at(1_000), stateExitedEventDetails: { name: 'CheckWatermark' } },
    ] as HistoryEvent[];
    expect(stateSpans(history, 10_000).map((s) => [s.state, s.startMs, s.ms])).toEqual([
      ['Fence', 0, 300],
      ['CheckWatermark', 300, 600],
      ['WaitForWatermark', 900, 40],
      ['CheckWatermark #2', 940, 60],
    ]);
  });
});
