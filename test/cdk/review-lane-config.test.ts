import { describe, expect, it } from 'vitest';
import { ConfigError, parseTopology } from '../../lib/config/index.ts';
import { templatesOf, testEnvironment, twoRegionTopology } from './support/app.ts';

/**
 * Review of i15-lane (adversarial): bad input gets a clear error at the edge. `ordinaryLane.maxBatchingWindowMs`
 * is validated as any integer 0-300,000 ms (README: "how long the mapping gathers records (0-300,000 ms)"),
 * but Lambda's MaximumBatchingWindowInSeconds is whole seconds and the construct passes
 * `Duration.millis(ms)` to the SqsEventSource, whose `toSeconds()` throws for 500 or 1,500 ms at synth:
 * "'1500 millis' cannot be converted into a whole number of seconds", naming neither the setting nor the
 * environment. The config should refuse it by its path (or the construct round it, and the sandbox with it).
 */
describe('review of i15-lane: ordinaryLane.maxBatchingWindowMs', () => {
  it('refuses a window that is not whole seconds by its path, or synthesizes it', () => {
    let topology: ReturnType<typeof twoRegionTopology> | undefined;
    try {
      topology = twoRegionTopology({
        aggregates: [
          { type: 'account', tier: 'core' },
          { type: 'activity', tier: 'ordinary' },
        ],
        ordinaryLane: { maxBatchingWindowMs: 1_500 },
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).toMatch(/ordinaryLane\.maxBatchingWindowMs/);
      return;
    }
    expect(() => templatesOf(testEnvironment(topology))).not.toThrow();
  });
});

describe('ordinaryLane settings, checked and synthesized', () => {
  const input = (ordinaryLane: Record<string, unknown>) => ({
    name: 'dev',
    account: '111122223333',
    regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }],
    aggregates: [{ type: 'activity', tier: 'ordinary' }],
    ordinaryLane,
  });

  it('names the setting and the environment of a window that is not whole seconds', () => {
    expect(() => parseTopology(input({ maxBatchingWindowMs: 500 }), 'app.ts, environment dev')).toThrow(
      /app\.ts, environment dev[\s\S]*ordinaryLane\.maxBatchingWindowMs: must be whole seconds/,
    );
  });

  it("refuses a lane concurrency outside Lambda's 2-1,000, by its path", () => {
    for (const maxConcurrency of [1, 1_001, 2.5])
      expect(() => parseTopology(input({ maxConcurrency }))).toThrow(/ordinaryLane\.maxConcurrency/);
  });

  it('caps the lane mapping at ordinaryLane.maxConcurrency (default 5)', () => {
    const concurrencyOf = (topology: ReturnType<typeof twoRegionTopology>) =>
      Object.values(templatesOf(testEnvironment(topology))).flatMap((t) =>
        Object.values(t.findResources('AWS::Lambda::EventSourceMapping'))
          .filter((m) => JSON.stringify(m.Properties.EventSourceArn).includes('OrdinaryLane'))
          .map((m) => m.Properties.ScalingConfig?.MaximumConcurrency),
      );
    const aggregates = [
      { type: 'account', tier: 'core' },
      { type: 'activity', tier: 'ordinary' },
    ];
    expect(concurrencyOf(twoRegionTopology({ aggregates }))).toEqual([5, 5]);
    expect(concurrencyOf(twoRegionTopology({ aggregates, ordinaryLane: { maxConcurrency: 40 } }))).toEqual([
      40, 40,
    ]);
  });
});
