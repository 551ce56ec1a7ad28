import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SagaTaskRequest } from '../../lib/sagas/index.ts';
import { cellRuntime } from '../shared/environment.ts';
import { regionWiring } from '../shared/region.ts';

const logger = new Logger({ serviceName: 'multiactive-saga' });
const wiring = regionWiring(cellRuntime(), (sagaId, error) =>
  logger.error('saga execution not started', { sagaId, error }),
);

/** One task of the Saga state machine (`{ task, input }`), or the scheduled recovery sweep (`{ task: 'Sweep' }`). */
async function runSagaTask(request: SagaTaskRequest): Promise<Record<string, unknown>> {
  try {
    const result = await wiring.sagas.handler(request);
    if (request.task === 'Sweep') logger.info('saga sweep', { ...result });
    return result;
  } catch (error) {
    logger.error('saga task failed', { task: request.task, error });
    throw error;
  }
}

export const handler = middy(runSagaTask).use(injectLambdaContext(logger));
