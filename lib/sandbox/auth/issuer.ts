import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * The sandbox's stand-in for the team's OIDC issuer: it signs client JWTs (ES256) in the name of the
 * issuer the API's JWT authorizer is configured with, and the sandbox's API Gateway verifies them with
 * the issuer's public keys, checking issuer, audience and expiry as API Gateway does. Only the keys are
 * local; issuer and audience come from the synthesized authorizer.
 * @example const issuer = await LocalIssuer.create({ issuer, audience }); const token = await issuer.token('alice');
 */
export class LocalIssuer {
  /** The public keys as jose resolves them, made once: jose caches each imported key on this set. */
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;

  private constructor(
    readonly issuer: string,
    readonly audience: readonly string[],
    private readonly privateKey: PrivateKey,
    readonly jwks: { keys: JWK[] },
  ) {
    this.keySet = createLocalJWKSet(jwks);
  }

  /** A new issuer with a fresh key pair. */
  static async create(options: { issuer: string; audience: readonly string[] }): Promise<LocalIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'sandbox-1', alg: 'ES256', use: 'sig' };
    return new LocalIssuer(options.issuer, options.audience, privateKey, { keys: [jwk] });
  }

  /** A client token for `subject`, valid `ttlSeconds` (default one hour). */
  async token(subject: string, options: { ttlSeconds?: number; audience?: string } = {}): Promise<string> {
    return new SignJWT({ scope: 'multiactive/api' })
      .setProtectedHeader({ alg: 'ES256', kid: 'sandbox-1', typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(options.audience ?? (this.audience[0] as string))
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime(`${options.ttlSeconds ?? 3_600}s`)
      .sign(this.privateKey);
  }

  /**
   * Verifies a token as API Gateway's JWT authorizer would for an authorizer configured with `issuer`
   * and `audience`: signature by this issuer's keys, `iss`, `aud` (or `client_id`), `exp`/`nbf`.
   */
  async verify(
    token: string,
    expected: { issuer: string; audience: readonly string[] },
  ): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.keySet, {
      issuer: expected.issuer,
      algorithms: ['ES256'],
    });
    const audiences = [payload.aud, payload.client_id]
      .flat()
      .filter((a): a is string => typeof a === 'string');
    if (!audiences.some((a) => expected.audience.includes(a))) throw new Error('audience not accepted');
    return payload;
  }
}
