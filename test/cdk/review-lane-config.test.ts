import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/index.ts';
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
