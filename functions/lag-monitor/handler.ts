import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { HybridLogicalClock } from '../../lib/clock/index.ts';
import { peersOf } from '../../lib/config/index.ts';
import {
  DynamoPublishHolds,
  HeartbeatWriter,
  type LagMonitorDeps,
  type LagMonitorTick,
  powertoolsReplicationMetrics,
  runLagMonitor,
  WatermarkStore,
} from '../../lib/replication/index.ts';
import { deployedTopology } from '../shared/application.ts';

export interface LagMonitorHandlerDeps extends LagMonitorDeps {
  /** Heartbeat period (`thresholds.heartbeatIntervalMs`). */
  readonly intervalMs: number;
  /** How long one invocation keeps ticking (the schedule fires every minute); default 60 s. */
  readonly windowMs?: number;
}

/** The lag monitor's main function over injected deps: ticks every `intervalMs` for one window. */
export function createLagMonitorHandler(deps: LagMonitorHandlerDeps) {
  return async function monitor(_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) {
    const started = Date.now();
    const windowMs = deps.windowMs ?? 60_000;
    const remainingMs = () =>
      Math.min(context?.getRemainingTimeInMillis() ?? 0, started + windowMs - Date.now());
    const ticks: LagMonitorTick[] = await runLagMonitor(deps, { intervalMs: deps.intervalMs, remainingMs });
    return { ticks: ticks.length, lags: ticks.at(-1)?.lags ?? [] };
  };
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const logger = new Logger();
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'multiactive' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
let main: ReturnType<typeof createLagMonitorHandler> | undefined;

function fromEnvironment(): ReturnType<typeof createLagMonitorHandler> {
  const topology = deployedTopology(env('MULTIACTIVE_ENV'));
  const region = env('MULTIACTIVE_REGION');
  return createLagMonitorHandler({
    region,
    peers: peersOf(topology, region),
    clock: new HybridLogicalClock({ region, maxDriftMs: topology.thresholds.maxDriftMs }),
    heartbeats: new HeartbeatWriter({ client: doc, tableName: env('TABLE_EVENTS') }),
    watermarks: new WatermarkStore({ client: doc, tableName: env('TABLE_REPLICATION') }),
    holds: new DynamoPublishHolds({ client: doc, tableName: env('TABLE_REPLICATION') }),
    metrics: powertoolsReplicationMetrics(metrics),
    intervalMs: topology.thresholds.heartbeatIntervalMs,
  });
}

/** Scheduled every minute: heartbeats every few seconds, and ReplicationLagMs{From,To} for every peer. */
export const handler = middy((event: unknown, context: Context) => {
  main ??= fromEnvironment();
  return main(event, context);
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
