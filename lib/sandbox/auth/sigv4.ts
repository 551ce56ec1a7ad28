import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** IAM credentials of a sandbox client (an access key of a role or user allowed execute-api:Invoke). */
export interface SandboxCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The principal API Gateway reports in `requestContext.authorizer.iam.userArn`. */
  readonly principalArn: string;
  readonly accountId: string;
}

/** A request as signed and as verified: host (with port), path, query, headers, body. */
export interface SignableRequest {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

const SERVICE = 'execute-api';
/** API Gateway refuses signatures older (or newer) than five minutes. */
const MAX_SKEW_MS = 5 * 60_000;

function signer(credentials: SandboxCredentials, region: string): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region,
    service: SERVICE,
    sha256: Hash.bind(null, 'sha256'),
  });
}

function httpRequest(request: SignableRequest, headers: Record<string, string>) {
  const [hostname, port] = request.host.split(':');
  return {
    method: request.method,
    protocol: 'http:',
    hostname: hostname as string,
    ...(port ? { port: Number(port) } : {}),
    path: request.path,
    query: { ...request.query },
    headers,
    ...(request.body ? { body: request.body } : {}),
  };
}

/** SigV4 headers (`authorization`, `x-amz-date`, `host`...) for a request to `region`'s API. */
export async function signSigV4(
  request: SignableRequest,
  credentials: SandboxCredentials,
  region: string,
): Promise<Record<string, string>> {
  const signed = await signer(credentials, region).sign(
    httpRequest(request, { ...request.headers, host: request.host }),
  );
  return signed.headers as Record<string, string>;
}

/** Why a SigV4 request was refused, in API Gateway's words where it has some. */
export type SigV4Failure = { readonly status: 403; readonly message: string };

const SCOPE =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Verifies a SigV4-signed request for `region`'s execute-api: a known access key, the right region and
 * service in the credential scope, a date within five minutes, and the signature recomputed over the
 * headers the client signed. Returns the caller's credentials, or the failure.
 */
export async function verifySigV4(
  request: SignableRequest,
  lookup: (accessKeyId: string) => SandboxCredentials | undefined,
  region: string,
  now = Date.now(),
): Promise<SandboxCredentials | SigV4Failure> {
  const header = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  if (!header) return { status: 403, message: 'Missing Authentication Token' };
  const match = SCOPE.exec(header);
  if (!match) return { status: 403, message: 'Authorization header requires a valid SigV4 signature' };
  const [, accessKeyId, , scopeRegion, service, signedHeaders, signature] = match as unknown as string[];
  const credentials = lookup(accessKeyId as string);
  if (!credentials) return { status: 403, message: 'The security token included in the request is invalid.' };
  if (service !== SERVICE || scopeRegion !== region) {
    return { status: 403, message: `Credential should be scoped to correct region '${region}'` };
  }
  const amzDate = Object.entries(request.headers).find(([k]) => k.toLowerCase() === 'x-amz-date')?.[1] ?? '';
  const signedAt = Date.parse(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (!Number.isFinite(signedAt) || Math.abs(now - signedAt) > MAX_SKEW_MS) {
    return { status: 403, message: 'Signature expired or not yet valid' };
  }
  const names = new Set((signedHeaders as string).split(';'));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (names.has(name.toLowerCase()) && name.toLowerCase() !== 'authorization')
      headers[name.toLowerCase()] = value;
  }
  // The payload hash is the body's, whatever hash header the client sent (the signer would trust it).
  if (names.has('x-amz-content-sha256')) {
    headers['x-amz-content-sha256'] = createHash('sha256')
      .update(request.body ?? '')
      .digest('hex');
  }
  const expected = await signer(credentials, region).sign(httpRequest(request, headers), {
    signingDate: new Date(signedAt),
    signableHeaders: names,
  });
  const recomputed =
    SCOPE.exec(String((expected.headers as Record<string, string>).authorization))?.[6] ?? '';
  const ok =
    recomputed.length === (signature as string).length &&
    timingSafeEqual(Buffer.from(recomputed), Buffer.from(signature as string));
  if (!ok) {
    return {
      status: 403,
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return credentials;
}
