import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { sfnExecutions } from '../../lib/ops/aws-executions.ts';
import { type AwsReadinessNames, awsReadinessSnapshot, fillName } from '../../lib/ops/aws-readiness.ts';
import type { ReadinessReport } from '../../lib/ops/readiness.ts';
import {
  evaluateOnSchedule,
  powertoolsReadinessMetrics,
  type ReadinessMetrics,
} from '../../lib/ops/scheduled-readiness.ts';
import { deployedTopology } from '../shared/application.ts';
import { awsReadClients, sfnClients } from '../shared/aws-read-clients.ts';
import { readEnvironment } from '../shared/environment.ts';

export interface ReadinessHandlerDeps {
  readonly evaluate: () => Promise<ReadinessReport>;
  readonly log: Pick<Logger, 'info' | 'warn'>;
}

/** The readiness function's main: one evaluation, logged with every failing check and its reason. */
export function createReadinessHandler(deps: ReadinessHandlerDeps) {
  return async function readiness() {
    const report = await deps.evaluate();
    const failing = report.checks.filter((c) => !c.ok).map((c) => ({ check: c.id, reason: c.detail }));
    if (report.ready) deps.log.info('ready for a failover', { checks: report.checks.length });
    else deps.log.warn('NOT ready for a failover', { failing });
    return { ready: report.ready, at: report.at, failing };
  };
}

const logger = new Logger();
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'multiactive' });
let main: ReturnType<typeof createReadinessHandler> | undefined;

function fromEnvironment(recorder: ReadinessMetrics): ReturnType<typeof createReadinessHandler> {
  const environment = readEnvironment();
  const names = JSON.parse(process.env.READINESS_NAMES ?? 'null') as AwsReadinessNames | null;
  if (!names?.stack) throw new Error('environment variable READINESS_NAMES is not set');
  const topology = deployedTopology(environment.MULTIACTIVE_ENV);
  const executions = sfnExecutions({
    clientFor: sfnClients(),
    machineArn: (region, runbook) => fillName(names.stateMachineArn, { region, runbook }),
  });
  const clients = awsReadClients(executions, names.globalRegion);
  return createReadinessHandler({
    evaluate: () =>
      evaluateOnSchedule({
        snapshot: () => awsReadinessSnapshot(topology, clients, names),
        metrics: recorder,
      }),
    log: logger,
  });
}

/**
 * Scheduled every minute (cdk/constructs/readiness.ts): the environment's readiness evaluated from this
 * region with the function's role, published as the Readiness metric (EMF) that the readiness alarm watches.
 */
export const handler = middy(() => {
  main ??= fromEnvironment(powertoolsReadinessMetrics(metrics));
  return main();
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
