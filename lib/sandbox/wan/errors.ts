/** Why a message did not cross the WAN. */
export type LinkDownReason = 'partitioned' | 'region-down' | 'lost' | 'closed';

/** A message that the WAN did not deliver; the caller's retry policy decides what happens next. */
export class LinkDownError extends Error {
  readonly from: string;
  readonly to: string;
  readonly reason: LinkDownReason;

  constructor(from: string, to: string, reason: LinkDownReason, options?: ErrorOptions) {
    super(`WAN link ${from} -> ${to} did not deliver: ${reason}`, options);
    this.name = 'LinkDownError';
    this.from = from;
    this.to = to;
    this.reason = reason;
  }
}

/** A region name that the network was not built with. */
export class UnknownRegionError extends Error {
  readonly region: string;

  constructor(region: string, known: readonly string[]) {
    super(`Unknown region ${JSON.stringify(region)}; the WAN knows ${known.join(', ')}`);
    this.name = 'UnknownRegionError';
    this.region = region;
  }
}
