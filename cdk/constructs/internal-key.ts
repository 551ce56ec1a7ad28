import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { internalKeySecretName } from '../../lib/auth/index.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { acknowledge } from './nag.ts';

export interface InternalKeyProps {
  readonly topology: Topology;
  readonly region: string;
}

/** The region whose stack creates the internal key (the others read their replica of it). */
export function internalKeyHome(topology: Topology): string {
  return regionNames(topology)[0] as string;
}

/**
 * The environment's internal key `multiactive-<env>-internal-key`: peers sign forwarded writes and
 * back-to-source reads with it (peer tokens), publishers and replays sign replication events with it, and
 * appliers refuse events without a valid signature. One secret, created in the first region's stack and
 * replicated by Secrets Manager to every other region, so each region reads a local copy (no region is
 * on another's critical path); the other stacks import it by name and deploy after the first.
 */
export class InternalKey extends Construct {
  public readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: InternalKeyProps) {
    super(scope, id);
    const { topology, region } = props;
    const secretName = internalKeySecretName(topology.name);
    if (region !== internalKeyHome(topology)) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Replica', secretName);
      return;
    }
    const secret = new secretsmanager.Secret(this, 'Secret', {
      secretName,
      description: `multiactive ${topology.name}: HMAC key of peer tokens and replication event signatures`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      replicaRegions: regionNames(topology)
        .filter((r) => r !== region)
        .map((r) => ({ region: r })),
    });
    acknowledge(
      secret,
      'AwsSolutions-SMG4',
      'Not rotated automatically: every peer token and every replication event still in flight (EventBridge ' +
        'retries for hours) is signed with the current value, so a rotation is a planned operator step.',
    );
    this.secret = secret;
  }
}
