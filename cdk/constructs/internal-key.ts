import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { internalKeySecretName } from '../../lib/auth/index.ts';
import { regionNames, type Topology } from '../../lib/config/index.ts';
import { acknowledge } from './nag.ts';

export interface InternalKeyProps {
  readonly topology: Topology;
  /** The region whose stack creates the secret (`internalKeyHome`). */
  readonly region: string;
}

/** The region whose foundation stack creates the internal key (the others hold replicas of it). */
export function internalKeyHome(topology: Topology): string {
  return regionNames(topology)[0] as string;
}

/**
 * The environment's internal key `multiactive-<env>-internal-key`: peers sign forwarded writes and
 * back-to-source reads with it (peer tokens), publishers and replays sign replication events with it, and
 * appliers refuse events without a valid signature. One secret, created in the first region's foundation
 * stack and replicated by Secrets Manager to every other region, so each region reads a local copy (no
 * region is on another's critical path). Every cell deploys after every foundation, so its replica exists
 * before any function reads it; the functions' grants name it by ARN (`internalKeyArnPattern`).
 */
export class InternalKey extends Construct {
  public readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: InternalKeyProps) {
    super(scope, id);
    const { topology, region } = props;
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: internalKeySecretName(topology.name),
      description: `multiactive ${topology.name}: HMAC key of peer tokens and replication event signatures`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      replicaRegions: regionNames(topology)
        .filter((r) => r !== region)
        .map((r) => ({ region: r })),
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'Not rotated automatically: every peer token and every replication event still in flight (EventBridge ' +
        'retries for hours) is signed with the current value, so a rotation is a planned operator step.',
    );
  }
}
