import { GtmConfigError } from './errors.ts';

/** The routing policies the GTM offers (Route 53's latency and weighted, plus two load-balancer classics). */
export const ROUTING_POLICIES = ['latency', 'weighted', 'round-robin', 'least-connections'] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];

/** One-way or round-trip latency from a client location to a region; only the order matters. */
export type LatencyTable = (from: string, to: string) => number;

/**
 * The regions a request may go to: the healthy ones, or all of them when none is healthy
 * (Route 53 then treats every record as healthy rather than answering nothing).
 */
export function candidateRegions(
  regions: readonly string[],
  isHealthy: (region: string) => boolean,
): string[] {
  if (regions.length === 0) throw new GtmConfigError('No regions to route to');
  const healthy = regions.filter(isHealthy);
  return healthy.length > 0 ? healthy : [...regions];
}

/** Latency routing: the candidate closest to `from`; `fallback` (or the first candidate) when `from` is unknown. */
export function chooseByLatency(input: {
  candidates: readonly string[];
  from: string | undefined;
  latency: LatencyTable;
  fallback?: string;
}): string {
  const { candidates, from, latency, fallback } = input;
  if (from === undefined || from === '') {
    return fallback !== undefined && candidates.includes(fallback) ? fallback : (candidates[0] as string);
  }
  let best = candidates[0] as string;
  for (const region of candidates) if (latency(from, region) < latency(from, best)) best = region;
  return best;
}

/** Weighted routing: a candidate drawn with probability weight / total; all weights 0 means uniform. */
export function chooseByWeight(input: {
  candidates: readonly string[];
  weights: Readonly<Record<string, number>>;
  random: () => number;
}): string {
  const { candidates, weights, random } = input;
  const w = candidates.map((r) => Math.max(0, weights[r] ?? 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (total === 0) return candidates[Math.floor(random() * candidates.length)] as string;
  let point = random() * total;
  for (let i = 0; i < candidates.length; i++) {
    point -= w[i] as number;
    if (point < 0) return candidates[i] as string;
  }
  return candidates[candidates.length - 1] as string;
}

/** Round-robin routing: the `turn`-th candidate, cycling. */
export function chooseRoundRobin(candidates: readonly string[], turn: number): string {
  return candidates[turn % candidates.length] as string;
}

/** Least-connections routing: the candidate with the fewest requests in flight (first in order on ties). */
export function chooseLeastConnections(
  candidates: readonly string[],
  inFlight: ReadonlyMap<string, number>,
): string {
  let best = candidates[0] as string;
  for (const region of candidates) if ((inFlight.get(region) ?? 0) < (inFlight.get(best) ?? 0)) best = region;
  return best;
}
