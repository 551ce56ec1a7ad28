import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { PUBLISHER_STREAM } from '../../../cdk/constructs/cell-functions.ts';
import { FUNCTION_NAMES, FUNCTION_SETTINGS } from '../../../cdk/constructs/function-defaults.ts';
import { sagaDefinition } from '../../../cdk/constructs/sagas/saga-definition.ts';
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
import { confirmedSaga, sagaShapes } from '../../../lib/cost/sagas.ts';
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
    const runtime = awsRuntime(topology, loadQuotaList(), sagaShapes(bank.sagas));
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

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Choices?: ReadonlyArray<{ readonly StringEquals?: string; readonly Next: string }>;
  readonly Default?: string;
}

describe('the cost model mirrors the sagas it prices', () => {
  it("reads each saga's shape from the application's definition: who shares its partition, who has a Try and a Cancel", () => {
    expect(sagaShapes(bank.sagas)).toEqual({
      transfer: {
        name: 'transfer',
        participants: [
          { name: 'source', aggregateType: 'account', colocated: true, tries: true, cancels: true },
          { name: 'target', aggregateType: 'account', colocated: false, tries: false, cancels: false },
        ],
      },
    });
  });

  it("counts a confirmed saga's state transitions and task invocations on the Saga machine's definition", () => {
    const stack = new Stack(new App(), 'Saga');
    const fn = lambda.Function.fromFunctionArn(
      stack,
      'Fn',
      'arn:aws:lambda:us-east-1:111111111111:function:f',
    );
    const chain = sfn.Chain.start(sagaDefinition(stack, fn));
    const graph = new sfn.StateGraph(chain.startState, 'Saga').toGraphJson() as {
      StartAt: string;
      States: Record<string, AslState>;
    };
    // The path of a saga decided `confirm`, with no retries: every state entered is a transition.
    let at: string | undefined = graph.StartAt;
    let transitions = 0;
    let tasks = 0;
    while (at) {
      const state: AslState = graph.States[at]!;
      transitions++;
      if (state.Type === 'Task') tasks++;
      at =
        state.Type === 'Choice'
          ? (state.Choices?.find((c) => c.StringEquals === 'confirm')?.Next ?? state.Default)
          : state.Next;
    }
    const run = confirmedSaga(sagaShapes(bank.sagas).transfer!);
    expect(run.transitions).toBe(transitions);
    expect(run.tasks).toBe(tasks);
  });

  it('runs the recovery sweep on the topology schedule in every region', () => {
    const topology = bank.topology('prod');
    const runtime = awsRuntime(topology, loadQuotaList(), sagaShapes(bank.sagas));
    expect(runtime.sagaSweepsPerSecond).toBeCloseTo(1 / topology.sagas.sweepIntervalSeconds);
    expect(runtime.scheduled.saga.perSecond).toBeCloseTo(1 / topology.sagas.sweepIntervalSeconds);
  });
});
