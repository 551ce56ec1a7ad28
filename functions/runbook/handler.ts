import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { internalKeySecretName, secretsManagerInternalKey } from '../../lib/auth/index.ts';
import { s3RegionArchives } from '../../lib/lifecycle/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import {
  awsRunbookDeps,
  createRunbookDispatcher,
  type RunbookDeps,
  type RunbookRequest,
} from '../../lib/runbooks/index.ts';
import { application } from '../shared/application.ts';

export interface RunbookHandlerDeps {
  readonly deps: RunbookDeps;
  readonly logger?: Pick<Logger, 'info' | 'error'>;
}

/** The runbook function's main over injected deps (the sandbox and the tests call this). */
export function createRunbookHandler(options: RunbookHandlerDeps) {
  const run = createRunbookDispatcher(options.deps);
  return async function runRunbookTask(request: RunbookRequest): Promise<Record<string, unknown>> {
    options.logger?.info('runbook task', { runbook: request.runbook, task: request.task });
    try {
      return await run(request);
    } catch (error) {
      options.logger?.error('runbook task failed', { runbook: request.runbook, task: request.task, error });
      throw error;
    }
  };
}

const logger = new Logger({ serviceName: 'multiactive-runbook' });
let main: ReturnType<typeof createRunbookHandler> | undefined;

/** Clients are built on the first invocation (module scope afterwards), from the environment. */
function mainFromEnvironment(): ReturnType<typeof createRunbookHandler> {
  const env = process.env;
  const app = application();
  const topology = app.topology(env.MULTIACTIVE_ENV ?? 'dev');
  const deps = awsRunbookDeps({
    region: env.MULTIACTIVE_REGION ?? env.AWS_REGION ?? '',
    topology,
    registry: createRegistry(app.aggregates, topology),
    busName: env.EVENT_BUS_NAME ?? `multiactive-${topology.name}-bus`,
    endpoints: JSON.parse(env.REGION_ENDPOINTS ?? '{}') as Record<string, string>,
    eventKey: secretsManagerInternalKey(internalKeySecretName(topology.name)),
    // Every region's archive bucket (read-only grants, cdk/constructs/cell-archive.ts).
    archiveOf: s3RegionArchives({ topology, app: app.name }),
  });
  return createRunbookHandler({ deps, logger });
}

export const handler = middy(async (request: RunbookRequest) => {
  main ??= mainFromEnvironment();
  return main(request);
}).use(injectLambdaContext(logger));
