import { EventBridgeServiceException } from '@aws-sdk/client-eventbridge';
import { SandboxError } from '../errors.ts';

/** The evaluator could not run (a malformed policy, an unknown action): a sandbox bug, not a denial. */
export class IamSimulationError extends SandboxError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IamSimulationError';
  }
}

const metadata = () => ({
  httpStatusCode: 400,
  requestId: `sandbox-iam-${Date.now().toString(36)}`,
  attempts: 1,
  totalRetryDelay: 0,
});

/**
 * A refusal on a path that has no SDK client in the sandbox (the local buses, Lambda invocations by
 * EventBridge and Step Functions), shaped as the SDK shapes it: name `AccessDeniedException`, client
 * fault, status 400. For EventBridge it is the SDK's own `EventBridgeServiceException`.
 */
export function accessDeniedException(service: string, message: string): Error {
  if (service === 'events')
    return new EventBridgeServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: metadata(),
      message,
    });
  return Object.assign(new Error(message), {
    name: 'AccessDeniedException',
    $fault: 'client' as const,
    $metadata: metadata(),
  });
}
