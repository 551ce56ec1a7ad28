/**
 * The environment's internal key: the secret that peers sign forwarded requests and replication events
 * with. One value per environment, the same in every region (a Secrets Manager secret replicated to
 * each region in AWS; a random key per run in the sandbox). A loader resolves it (cached by the adapter).
 */
export type InternalKey = () => Promise<Uint8Array>;

/** Shortest key accepted: HMAC-SHA-256 gains nothing from more than 32 bytes and is weak with fewer. */
export const MIN_INTERNAL_KEY_BYTES = 32;

/** A fixed key (tests, the sandbox); refuses keys shorter than 32 bytes. */
export function staticInternalKey(key: Uint8Array): InternalKey {
  if (key.byteLength < MIN_INTERNAL_KEY_BYTES) {
    throw new RangeError(`an internal key needs at least ${MIN_INTERNAL_KEY_BYTES} bytes`);
  }
  return async () => key;
}
