import { randomBytes } from 'node:crypto';
import { type InternalKey, staticInternalKey } from '../../auth/internal-key.ts';
import type { Topology } from '../../config/index.ts';
import { ApiClient } from './api-client.ts';
import { LocalIssuer } from './issuer.ts';
import type { SandboxCredentials } from './sigv4.ts';

/**
 * The sandbox's credentials, made fresh for each run: the environment's internal key (the replicated
 * secret of AWS: one value, given to every region), and the client side of `api.auth`: a local issuer
 * for JWTs, or an IAM access key for SigV4.
 */
export interface SandboxAuth {
  readonly type: 'jwt' | 'iam';
  readonly internalKey: InternalKey;
  /** JWT: signs client tokens in the name of the configured issuer. */
  readonly issuer?: LocalIssuer;
  /** IAM: the one access key the sandbox's API Gateway knows. */
  readonly credentials?: SandboxCredentials;
  /** Looks an access key up (the SigV4 check). */
  lookup(accessKeyId: string): SandboxCredentials | undefined;
  /** A client for the APIs (demo, chaos, benchmarks); `regionOf` maps a regional URL to its region. */
  client(regionOf?: (origin: string) => string | undefined): ApiClient;
}

/** Credentials for a sandbox of `topology`. */
export async function createSandboxAuth(topology: Topology): Promise<SandboxAuth> {
  const internalKey = staticInternalKey(randomBytes(32));
  const { auth } = topology.api;
  if (auth.type === 'jwt') {
    const issuer = await LocalIssuer.create({ issuer: auth.issuer, audience: auth.audience });
    return {
      type: 'jwt',
      internalKey,
      issuer,
      lookup: () => undefined,
      client: (regionOf) => new ApiClient({ type: 'jwt', issuer }, regionOf),
    };
  }
  const credentials: SandboxCredentials = {
    accessKeyId: `AKIASANDBOX${randomBytes(5).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    principalArn: `arn:aws:iam::${topology.account}:role/multiactive-${topology.name}-sandbox-client`,
    accountId: topology.account,
  };
  const defaultRegion = topology.regions[0]?.name ?? 'us-east-1';
  return {
    type: 'iam',
    internalKey,
    credentials,
    lookup: (accessKeyId) => (accessKeyId === credentials.accessKeyId ? credentials : undefined),
    client: (regionOf) => new ApiClient({ type: 'iam', credentials, defaultRegion }, regionOf),
  };
}
