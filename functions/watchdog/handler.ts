import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { awsWatchdogDeps } from '../../lib/detection/aws-deps.ts';
import { tickThroughWindow, Watchdog, watchdogSettings } from '../../lib/detection/index.ts';
import { parseRegionEndpoints } from '../../lib/routing/index.ts';
import { deployedTopology } from '../shared/application.ts';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

const logger = new Logger();
/** The schedule fires once a minute; an invocation ticks through its minute. */
const WINDOW_MS = 60_000;
let state: { watchdog: Watchdog; intervalMs: number } | undefined;

function fromEnvironment(): { watchdog: Watchdog; intervalMs: number } {
  const topology = deployedTopology(env('MULTIACTIVE_ENV'));
  const settings = watchdogSettings(topology);
  const watchdog = new Watchdog(
    awsWatchdogDeps({
      region: env('MULTIACTIVE_REGION'),
      topology,
      settings,
      endpoints: parseRegionEndpoints(env('REGION_ENDPOINTS')),
      failoverStateMachineArn: env('FAILOVER_STATE_MACHINE_ARN'),
      log: (line) => logger.warn(line),
    }),
  );
  return { watchdog, intervalMs: settings.intervalMs };
}

/**
 * Scheduled every minute: probes every peer each `gtm.watchdog.intervalSeconds` for the minute, and
 * starts this region's Failover when it wins the claim on a region a majority suspects. The watchdog
 * (and its failure counts) lives on in a warm container from one minute to the next.
 */
export const handler = middy(async (_event: unknown, context: Context) => {
  state ??= fromEnvironment();
  const { watchdog, intervalMs } = state;
  const started = Date.now();
  const ticks = await tickThroughWindow(
    async () => {
      for (const report of await watchdog.tick()) {
        if (report.observation.suspect) logger.warn('peer suspected', { ...report });
      }
    },
    {
      intervalMs,
      remainingMs: () =>
        Math.min(context.getRemainingTimeInMillis() - 5_000, started + WINDOW_MS - Date.now()),
    },
  );
  return { ticks };
}).use(injectLambdaContext(logger));
