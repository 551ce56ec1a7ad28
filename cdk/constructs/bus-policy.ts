import * as iam from 'aws-cdk-lib/aws-iam';
import { peersOf, regionNames, type Topology } from '../../lib/config/index.ts';
import { busArn, forwardRoleName, functionRoleName, roleArn } from '../naming.ts';
import { FUNCTION_ACCESS } from './access-table.ts';
import { FUNCTION_NAMES } from './function-defaults.ts';
import { regionsOf } from './grants.ts';

/**
 * Every role that may put events on `region`'s replication bus: the functions whose access rows name
 * that bus (from any region) and the peers' forwarding-rule roles. Sorted, so the policy is stable across
 * synths. (Failure detection puts nothing on a bus: each region's watchdog starts its own Failover.)
 */
export function busWriterRoleArns(topology: Topology, region: string): string[] {
  const env = topology.name;
  const functions = FUNCTION_NAMES.flatMap((fn) =>
    regionNames(topology)
      .filter((from) =>
        FUNCTION_ACCESS[fn].buses.some((row) => regionsOf(topology, from, row.in).includes(region)),
      )
      .map((from) => functionRoleName(env, from, fn)),
  );
  const forwarders = peersOf(topology, region).map((peer) => forwardRoleName(env, peer, region));
  return [...functions, ...forwarders].map((name) => roleArn(topology, name)).sort();
}

/**
 * The bus's resource policy: PutEvents is denied to every principal but the expected writers
 * (`aws:PrincipalArn`). Same-account callers are allowed by their identity policies, so an Allow here
 * would add nothing; what the bus needs is the fence, because an Allow conditioned on the source rule
 * (the old policy) restricts nobody in the same account. A Deny with a condition on the principal's ARN
 * also deploys before the roles exist (a role named in `Principal` must exist when the policy is set).
 */
export function busPolicy(topology: Topology, region: string): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'OnlyReplicationWriters',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        // The known ARN, not a GetAtt: a resource's property cannot reference the resource itself.
        resources: [busArn(topology, region)],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': busWriterRoleArns(topology, region) } },
      }),
    ],
  });
}
