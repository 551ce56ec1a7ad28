import type { APIGatewayProxyEventV2, Context, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import type { SagaTaskRequest } from '../../sagas/index.ts';
import { functionNameOf } from '../cdk/intrinsics.ts';
import { NoLocalHandlerError } from '../errors.ts';
import type { EventBridgeEvent } from '../eventbridge/index.ts';
import type { RunbookTaskRequest } from '../state-machines/runbook-port.ts';
import type { LocalFunctions } from './local-functions.ts';

/** A Lambda invocation stand-in: payload in, result out, errors thrown. */
export type LocalInvoke = (payload: unknown) => Promise<unknown>;

/**
 * The local handler behind a function name `multiactive-<env>-<name>`, the way the sandbox binds rule
 * targets and state machine tasks that name a function by ARN.
 */
export function localInvoker(input: {
  functions: LocalFunctions;
  env: string;
  region: string;
  functionName: string;
}): LocalInvoke {
  const { functions, functionName } = input;
  const prefix = `multiactive-${input.env}-`;
  const short = functionName.startsWith(prefix) ? functionName.slice(prefix.length) : functionName;
  switch (short) {
    case 'applier':
      // The real-time rule hands it one event; the ordinary lane's mapping, an SQS batch.
      return (payload) =>
        Array.isArray((payload as Partial<SQSEvent>).Records)
          ? functions.applierBatch(payload as SQSEvent)
          : functions.applier(payload as EventBridgeEvent);
    case 'publisher':
      return (payload) => functions.publisher(payload as DynamoDBStreamEvent);
    case 'lag-monitor':
      return () => functions.lagMonitor();
    case 'runbook':
      return (payload) => functions.runbook(payload as RunbookTaskRequest);
    case 'saga':
      return (payload) => functions.saga(payload as SagaTaskRequest);
    case 'api':
      return (payload) => functions.api(payload as APIGatewayProxyEventV2, {} as Context);
    case 'health':
      return (payload) => functions.health(payload as APIGatewayProxyEventV2, {} as Context);
    case 'watchdog':
      return () => functions.watchdog();
    default:
      throw new NoLocalHandlerError(functionName, input.region);
  }
}

export { functionNameOf };
