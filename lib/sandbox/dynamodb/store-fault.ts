import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { LocalClients } from './clients.ts';

/**
 * A fault of a region's DynamoDB that DynamoDB Local cannot produce: `throttle` answers every call with
 * ProvisionedThroughputExceededException (after the SDK's own retries), as a region whose tables are
 * throttled or whose DynamoDB is impaired would: a gray failure, the region's API still answers.
 */
export type StoreFault = 'throttle' | null;

/**
 * Installs the fault switch on a region's DynamoDB client (the document client shares its middleware
 * stack): mocked at the SDK boundary only. Streams are left alone.
 * @example const fault = installStoreFault(clients); fault.set('throttle');
 */
export function installStoreFault(clients: LocalClients): {
  set(fault: StoreFault): void;
  get(): StoreFault;
} {
  let current: StoreFault = null;
  clients.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      if (current === 'throttle') {
        throw new ProvisionedThroughputExceededException({
          message:
            'The level of configured provisioned throughput for the table was exceeded (sandbox fault)',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'sandboxStoreFault', priority: 'high' },
  );
  return {
    set(fault) {
      current = fault;
    },
    get: () => current,
  };
}
