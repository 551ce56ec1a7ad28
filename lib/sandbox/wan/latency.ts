/**
 * Round-trip times between AWS regions, p50 over a year of public measurements. A link's one-way
 * latency is half of these. Pairs not listed get UNKNOWN_PAIR_RTT_MS.
 */
export const INTER_REGION_RTT_MS: Readonly<Record<string, number>> = {
  'eu-west-1|us-east-1': 75,
  'ap-southeast-1|us-east-1': 219,
  'ap-southeast-1|eu-west-1': 182,
};

/** RTT assumed for a pair of regions with no measurement. */
export const UNKNOWN_PAIR_RTT_MS = 100;

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** The round-trip time between two regions in ms (0 within a region). */
export function defaultRttMs(a: string, b: string): number {
  if (a === b) return 0;
  return INTER_REGION_RTT_MS[pairKey(a, b)] ?? UNKNOWN_PAIR_RTT_MS;
}

/** The one-way latency between two regions in ms: half the RTT. */
export function defaultOneWayMs(a: string, b: string): number {
  return defaultRttMs(a, b) / 2;
}
