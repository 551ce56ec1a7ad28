import { describe, expect, it } from 'vitest';
import { PUBLISHER_STREAM } from '../../../cdk/constructs/cell-functions.ts';
import { FUNCTION_NAMES, FUNCTION_SETTINGS } from '../../../cdk/constructs/function-defaults.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { HybridLogicalClock } from '../../../lib/clock/clock.ts';
import { loadQuotaList } from '../../../lib/cost/catalog.ts';
import {
  awsRuntime,
  CODE_SETTINGS,
  FUNCTIONS,
  LAG_MONITOR_RUN,
  ticksPerRun,
  WATCHDOG_RUN,
} from '../../../lib/cost/runtime.ts';
import { tickThroughWindow } from '../../../lib/detection/index.ts';
import type { HeartbeatWriter } from '../../../lib/replication/heartbeat.ts';
import { runLagMonitor } from '../../../lib/replication/lag-monitor.ts';
import type { WatermarkStore } from '../../../lib/replication/watermarks.ts';

describe('the cost model mirrors the code it prices', () => {
  it('has the functions of the CDK app with their memory, and the publisher batch size', () => {
    expect([...FUNCTIONS].sort()).toEqual([...FUNCTION_NAMES].sort());
    for (const fn of FUNCTION_NAMES)
      expect(CODE_SETTINGS.memoryMb[fn], fn).toBe(FUNCTION_SETTINGS[fn].memorySize);
    expect(CODE_SETTINGS.publisherBatchSize).toBe(PUBLISHER_STREAM.batchSize);
  });

  it('counts the lag monitor ticks of a scheduled minute as runLagMonitor does', async () => {
    for (const intervalMs of [1_000, 5_000, 7_000, 20_000]) {
      let clock = 0;
      const ticks = await runLagMonitor(
        {
          region: 'us-east-1',
          peers: [],
          clock: new HybridLogicalClock({ region: 'us-east-1' }),
          heartbeats: { write: async () => {} } as unknown as HeartbeatWriter,
          watermarks: { list: async () => [] } as unknown as WatermarkStore,
        },
        {
          intervalMs,
          remainingMs: () => CODE_SETTINGS.scheduleMs - clock,
          marginMs: CODE_SETTINGS.lagMonitorMarginMs,
          sleep: async (ms) => {
            clock += ms;
          },
        },
      );
      expect(ticksPerRun(intervalMs, LAG_MONITOR_RUN).ticks, `interval ${intervalMs}`).toBe(ticks.length);
    }
  });

  it("counts the watchdog's ticks of a minute as tickThroughWindow does", async () => {
    for (const intervalMs of [1_000, 5_000, 30_000]) {
      let clock = 0;
      const ticks = await tickThroughWindow(async () => {}, {
        intervalMs,
        remainingMs: () => CODE_SETTINGS.scheduleMs - CODE_SETTINGS.watchdogMarginMs - clock,
        sleep: async (ms) => {
          clock += ms;
        },
      });
      expect(ticksPerRun(intervalMs, WATCHDOG_RUN).ticks, `interval ${intervalMs}`).toBe(ticks);
    }
  });

  it('takes the timers of AWS from the topology: heartbeats, Route 53 checkers, watchdog, lease ages', () => {
    const topology = bank.topology('prod');
    const runtime = awsRuntime(topology, loadQuotaList());
    expect(runtime.healthChecksPerSecond).toBeCloseTo(16 / topology.gtm.healthCheck.intervalSeconds);
    expect(runtime.heartbeatTicksPerSecond).toBeCloseTo(ticksPerRun(5_000, LAG_MONITOR_RUN).ticks / 60);
    expect(runtime.fenceRefreshAgeMs).toBe(
      Math.min(
        topology.fencing.leaseMs / 2,
        topology.fencing.leaseMs - topology.fencing.quorumCopyTimeoutMs - topology.fencing.appendTimeoutMs,
      ),
    );
    expect(runtime.copyFirstShare).toBe(1);
  });
});
