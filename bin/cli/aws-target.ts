import type { SFNClient } from '@aws-sdk/client-sfn';
import { stateMachineArn } from '../../cdk/naming.ts';
import type { Topology } from '../../lib/config/index.ts';
import { sfnExecutions } from '../../lib/ops/aws-executions.ts';
import type { ExecutionPort } from '../../lib/ops/ports.ts';

export { sfnClients } from '../../functions/shared/aws-read-clients.ts';

/** The deployed runbooks of an environment (ARNs from cdk/naming.ts), with the operator's credentials. */
export function awsExecutions(topology: Topology, clientFor: (region: string) => SFNClient): ExecutionPort {
  return sfnExecutions({
    clientFor,
    machineArn: (region, runbook) => stateMachineArn(topology, region, runbook),
  });
}
