import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { type InternalKey, MIN_INTERNAL_KEY_BYTES } from './internal-key.ts';

/** Name of the environment's internal-key secret (the same in every region: a replicated secret). */
export function internalKeySecretName(env: string): string {
  return `multiactive-${env}-internal-key`;
}

/**
 * The internal key from Secrets Manager (the region's replica of `multiactive-<env>-internal-key`),
 * cached by Powertools for `maxAgeSeconds` per Lambda container so a request never waits for it twice.
 * @example const key = secretsManagerInternalKey(process.env.INTERNAL_KEY_SECRET!);
 */
export function secretsManagerInternalKey(secretName: string, maxAgeSeconds = 300): InternalKey {
  return async () => {
    const value = await getSecret(secretName, { maxAge: maxAgeSeconds });
    if (typeof value !== 'string') throw new Error(`secret ${secretName} has no string value`);
    const key = new TextEncoder().encode(value);
    if (key.byteLength < MIN_INTERNAL_KEY_BYTES)
      throw new Error(`secret ${secretName} is shorter than ${MIN_INTERNAL_KEY_BYTES} bytes`);
    return key;
  };
}
