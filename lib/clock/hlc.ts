/**
 * A hybrid logical clock timestamp: physical milliseconds, a logical counter for events within the same
 * millisecond (or while the wall clock lags behind a timestamp already seen), and the region that made it.
 */
export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly region: string;
}

const WALL_DIGITS = 12; // 16^12 ms reaches the year 10889
const LOGICAL_DIGITS = 6;
/** Largest logical counter that fits the encoding; past it the clock borrows the next millisecond. */
export const MAX_LOGICAL = 16 ** LOGICAL_DIGITS - 1;
const ENCODED = /^([0-9a-f]{12})\.([0-9a-f]{6})\.(.+)$/;

/** Orders two timestamps: wall, then logical, then region id (the final tie-break). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.region === b.region) return 0;
  return a.region < b.region ? -1 : 1;
}

/**
 * Encodes a timestamp as fixed-width hex so that string order (DynamoDB sort keys) equals logical order.
 * @example encodeHlc({ wall: 1700000000000, logical: 3, region: 'eu-west-1' }) // '018bcfe56800.000003.eu-west-1'
 */
export function encodeHlc(hlc: Hlc): string {
  const wall = hlc.wall.toString(16).padStart(WALL_DIGITS, '0');
  const logical = hlc.logical.toString(16).padStart(LOGICAL_DIGITS, '0');
  return `${wall}.${logical}.${hlc.region}`;
}

/** Decodes `encodeHlc` output; throws `InvalidHlcError` on anything else. */
export function decodeHlc(encoded: string): Hlc {
  const match = ENCODED.exec(encoded);
  if (!match) throw new InvalidHlcError(encoded);
  return { wall: Number.parseInt(match[1]!, 16), logical: Number.parseInt(match[2]!, 16), region: match[3]! };
}

/** True when `encoded` is a well-formed encoded HLC. */
export function isEncodedHlc(encoded: string): boolean {
  return ENCODED.test(encoded);
}

/** The string is not an encoded HLC. */
export class InvalidHlcError extends Error {
  override readonly name = 'InvalidHlcError';
  constructor(readonly value: string) {
    super(`not an encoded HLC timestamp: "${value}"`);
  }
}

/** A remote timestamp is further ahead of the local wall clock than `maxDriftMs` allows. */
export class ClockDriftError extends Error {
  override readonly name = 'ClockDriftError';
  constructor(
    readonly remote: Hlc,
    readonly localWall: number,
    readonly maxDriftMs: number,
  ) {
    super(
      `remote timestamp from ${remote.region} is ${remote.wall - localWall} ms ahead of the local clock ` +
        `(max drift ${maxDriftMs} ms)`,
    );
  }
}
