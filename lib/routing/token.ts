import { compareHlc, decodeHlc, type Hlc, isEncodedHlc } from '../clock/hlc.ts';
import { InvalidConsistencyTokenError } from './errors.ts';

/** A parsed consistency token: the HLC of a write and the region it was written in. */
export interface ConsistencyToken {
  /** The encoded HLC, exactly as issued. */
  readonly raw: string;
  readonly hlc: Hlc;
  readonly origin: string;
}

/**
 * Parses an X-Consistency-Token. The token is the encoded HLC of the write (`<wall>.<logical>.<origin>`),
 * so it sorts like the HLC and names the origin region; throws InvalidConsistencyTokenError otherwise.
 * @example parseConsistencyToken('018bcfe56800.000003.eu-west-1').origin // 'eu-west-1'
 */
export function parseConsistencyToken(raw: string): ConsistencyToken {
  const value = raw.trim();
  if (!isEncodedHlc(value)) throw new InvalidConsistencyTokenError(raw);
  const hlc = decodeHlc(value);
  return { raw: value, hlc, origin: hlc.region };
}

/** True when the encoded HLC `seen` is at or after the token's write. */
export function reaches(seen: string | null | undefined, token: ConsistencyToken): boolean {
  if (!seen || !isEncodedHlc(seen)) return false;
  return compareHlc(decodeHlc(seen), token.hlc) >= 0;
}
