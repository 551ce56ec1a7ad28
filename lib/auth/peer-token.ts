import { createHash } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from './errors.ts';

/**
 * How long a peer token is valid. A forwarded request reaches its home within routing.forwardTimeoutMs;
 * the margin covers clock offsets between regions.
 */
export const PEER_TOKEN_TTL_SECONDS = 60;
/** Clock offset between two regions that verification tolerates. */
export const PEER_CLOCK_TOLERANCE_SECONDS = 5;
/** A request id travels as the home's idempotency key: bounded and plain. */
const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/** The part of a request a peer token is bound to: a token lifted from one request fits no other. */
export interface PeerRequestBinding {
  readonly method: string;
  /** Path with query string, exactly as sent. */
  readonly path: string;
  readonly body?: string | undefined;
}

/** Who a region is to its peers: issuer and audience of peer tokens. */
export function peerIdentity(env: string, region: string): string {
  return `multiactive:${env}:${region}`;
}

function bodyHash(body: string | undefined): string {
  return createHash('sha256')
    .update(body ?? '', 'utf8')
    .digest('base64url');
}

/**
 * A JWT (HS256, the environment's internal key) that says "region `from` sends this exact request to
 * region `to`", with the request id the home runs it under.
 * @example const token = await signPeerToken({ key, env: 'prod', from: 'eu-west-1', to: 'us-east-1', requestId, request });
 */
export async function signPeerToken(input: {
  readonly key: Uint8Array;
  readonly env: string;
  readonly from: string;
  readonly to: string;
  readonly requestId: string;
  readonly request: PeerRequestBinding;
}): Promise<string> {
  if (!REQUEST_ID.test(input.requestId)) throw new RangeError(`invalid request id ${input.requestId}`);
  return new SignJWT({
    htm: input.request.method,
    htu: input.request.path,
    bh: bodyHash(input.request.body),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'multiactive-peer+jwt' })
    .setIssuer(peerIdentity(input.env, input.from))
    .setAudience(peerIdentity(input.env, input.to))
    .setJti(input.requestId)
    .setIssuedAt()
    .setExpirationTime(`${PEER_TOKEN_TTL_SECONDS}s`)
    .sign(input.key);
}

/** A verified peer request: the region that sent it and its request id. */
export interface VerifiedPeer {
  readonly from: string;
  readonly requestId: string;
}

/**
 * Verifies a peer token for the request it came with: signature, issuer among the peers, audience this
 * region, not expired, and bound to this method, path and body. Throws UnauthenticatedError otherwise.
 */
export async function verifyPeerToken(input: {
  readonly token: string | undefined;
  readonly key: Uint8Array;
  readonly env: string;
  readonly region: string;
  readonly peers: readonly string[];
  readonly request: PeerRequestBinding;
}): Promise<VerifiedPeer> {
  if (!input.token) throw new UnauthenticatedError('no peer token');
  const issuers = new Map(input.peers.map((peer) => [peerIdentity(input.env, peer), peer]));
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(input.token, input.key, {
      algorithms: ['HS256'],
      typ: 'multiactive-peer+jwt',
      issuer: [...issuers.keys()],
      audience: peerIdentity(input.env, input.region),
      clockTolerance: PEER_CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['jti', 'exp', 'iat', 'htm', 'htu', 'bh'],
    }));
  } catch (error) {
    throw new UnauthenticatedError(`peer token refused (${(error as Error).message})`, { cause: error });
  }
  const bound =
    payload.htm === input.request.method &&
    payload.htu === input.request.path &&
    payload.bh === bodyHash(input.request.body);
  if (!bound) throw new UnauthenticatedError('peer token was issued for another request');
  const requestId = String(payload.jti);
  if (!REQUEST_ID.test(requestId)) throw new UnauthenticatedError('peer token carries an invalid request id');
  return { from: issuers.get(String(payload.iss)) as string, requestId };
}
