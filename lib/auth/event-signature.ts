import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.ts';

/**
 * Field of a replication event's `detail` that carries its signature, beside the envelope's own fields
 * (the rules match `detail.origin`; the applier strips the field before it validates the envelope).
 */
export const EVENT_SIGNATURE_FIELD = 'signature';

/** Domain separation: the same key also signs peer tokens, never with this prefix. */
const CONTEXT = 'multiactive-replication-event-v1\n';

/** HMAC-SHA-256 of the envelope's canonical JSON, base64url. */
export function eventSignature(envelope: object, key: Uint8Array): string {
  return createHmac('sha256', key).update(CONTEXT).update(canonicalJson(envelope)).digest('base64url');
}

/**
 * The replication `detail` of an envelope, signed with the environment's internal key: only code holding
 * the key (the publisher of the origin region, a runbook's replay) can produce one the applier accepts.
 * @example toBusEntry(envelope, busName, key) // Detail = JSON of signedDetail(envelope, key)
 */
export function signedDetail<E extends object>(envelope: E, key: Uint8Array): E & { signature: string } {
  return { ...envelope, [EVENT_SIGNATURE_FIELD]: eventSignature(envelope, key) } as E & { signature: string };
}

/** The outcome of checking a detail's signature. */
export type DetailCheck =
  | { readonly ok: true; readonly envelope: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

/**
 * Checks a replication detail's signature and returns the envelope without it. An event that was not
 * produced with the key (put on the bus by anyone but the platform) fails with the reason.
 */
export function checkSignedDetail(detail: unknown, key: Uint8Array): DetailCheck {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ok: false, reason: 'detail is not an object' };
  }
  const { [EVENT_SIGNATURE_FIELD]: signature, ...envelope } = detail as Record<string, unknown>;
  if (typeof signature !== 'string') return { ok: false, reason: 'the event carries no signature' };
  const expected = Buffer.from(eventSignature(envelope, key));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match the event (forged or altered)' };
  }
  return { ok: true, envelope };
}
