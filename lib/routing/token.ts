import { compareHlc, decodeHlc, type Hlc, isEncodedHlc } from '../clock/hlc.ts';
import { InvalidConsistencyTokenError } from './errors.ts';

/** What identifies a core write in its aggregate's log: the one event at `seq`, written at `epoch`. */
export interface CoreWriteRef {
  readonly seq: number;
  readonly epoch: number;
  readonly eventId: string;
}

/** A parsed consistency token: the HLC of a write, the region it was written in, and for core the write. */
export interface ConsistencyToken {
  /** The token exactly as issued (what goes back into X-Consistency-Token). */
  readonly issued: string;
  /** The encoded HLC of the write. */
  readonly raw: string;
  readonly hlc: Hlc;
  readonly origin: string;
  /** Core writes only: which event the write is (an HLC cannot tell two branches of a log apart). */
  readonly write?: CoreWriteRef;
}

const SEPARATOR = '~';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const COUNT = /^(0|[1-9]\d{0,14})$/;

/**
 * The token a write returns: the encoded HLC of its last event (`<wall>.<logical>.<origin>`, sorting like
 * the HLC), and for a core write `~<seq>~<epoch>~<eventId>` of that event. Clients treat it as opaque.
 * @example formatConsistencyToken({ hlc, write: { seq: 3, epoch: 7, eventId } })
 */
export function formatConsistencyToken(token: {
  readonly hlc: string;
  readonly write?: CoreWriteRef;
}): string {
  const { hlc, write } = token;
  return write ? [hlc, write.seq, write.epoch, write.eventId].join(SEPARATOR) : hlc;
}

/**
 * Parses an X-Consistency-Token; throws InvalidConsistencyTokenError for anything this API did not issue
 * (a malformed HLC, a core part that is not a positive seq, an epoch and an event id).
 * @example parseConsistencyToken('018bcfe56800.000003.eu-west-1').origin // 'eu-west-1'
 */
export function parseConsistencyToken(raw: string): ConsistencyToken {
  const value = raw.trim();
  const [hlc, ...core] = value.split(SEPARATOR);
  if (!hlc || !isEncodedHlc(hlc)) throw new InvalidConsistencyTokenError(raw);
  const decoded = decodeHlc(hlc);
  const token = { issued: value, raw: hlc, hlc: decoded, origin: decoded.region };
  if (core.length === 0) return token;
  const [seq, epoch, eventId] = core;
  const valid =
    core.length === 3 &&
    COUNT.test(seq ?? '') &&
    Number(seq) >= 1 &&
    COUNT.test(epoch ?? '') &&
    ULID.test(eventId ?? '');
  if (!valid) throw new InvalidConsistencyTokenError(raw);
  return { ...token, write: { seq: Number(seq), epoch: Number(epoch), eventId: eventId! } };
}

/**
 * A token fit for reading `tier`: a core aggregate's token names its write, another tier's does not
 * (InvalidConsistencyTokenError otherwise: the token was issued for another aggregate, or forged).
 */
export function tokenForTier(token: ConsistencyToken, tier: string): ConsistencyToken {
  const core = tier === 'core';
  if (core !== (token.write !== undefined))
    throw new InvalidConsistencyTokenError(
      token.issued,
      core
        ? 'a core aggregate takes the token its write returned'
        : 'a core write token names another aggregate',
    );
  return token;
}

/** True when the encoded HLC `seen` is at or after the token's write. */
export function reaches(seen: string | null | undefined, token: ConsistencyToken): boolean {
  if (!seen || !isEncodedHlc(seen)) return false;
  return compareHlc(decodeHlc(seen), token.hlc) >= 0;
}
