/** HTTP headers of the routing layer. */
export const ROUTING_HEADERS = {
  /** The region that executed the request (every response). */
  region: 'X-Multiactive-Region',
  /** Where a write landed (responses) / what a read must observe (requests). */
  token: 'X-Consistency-Token',
  /** Set on a request forwarded by a peer: the receiver never forwards it again. */
  forwardedBy: 'X-Multiactive-Forwarded-By',
  /** The partition's home region (on redirects and 421 answers). */
  home: 'X-Multiactive-Home',
  /** The region a read with a token was answered from, when it went back to the origin. */
  readSource: 'X-Multiactive-Read-Source',
  /**
   * Set on a forwarded write by the forwarding region, one value per client request: the home runs a
   * command at most once per value (its idempotency key when the body has none), so a request the network
   * or a retry delivers twice is not executed twice.
   */
  requestId: 'X-Multiactive-Request-Id',
  /**
   * Set on a GET a peer forwards to the home to decide on (a saga's dry run): the receiver answers from its
   * own row only after confirming, like a refusal, that its own copy of the entry still names it the
   * writable home (421 NotHome otherwise).
   */
  homeRead: 'X-Multiactive-Home-Read',
} as const;

/** A header's value, matched case-insensitively (API Gateway lower-cases names; clients may not). */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}
