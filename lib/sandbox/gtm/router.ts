import { defaultRttMs } from '../wan/latency.ts';
import { GtmConfigError } from './errors.ts';
import {
  candidateRegions,
  chooseByLatency,
  chooseByWeight,
  chooseLeastConnections,
  chooseRoundRobin,
  type LatencyTable,
  ROUTING_POLICIES,
  type RoutingPolicy,
} from './policies.ts';

/** Options of a Router. */
export interface RouterOptions {
  regions: readonly string[];
  policy: RoutingPolicy;
  /** Health as the GTM sees it (all healthy when omitted). */
  isHealthy?: (region: string) => boolean;
  /** Latency from a client location to a region (inter-region RTTs by default). */
  latency?: LatencyTable;
  /** Region for clients whose location is unknown (latency policy); the first healthy one otherwise. */
  fallbackRegion?: string;
  weights?: Readonly<Record<string, number>>;
  random?: () => number;
}

/** What the GTM knows about a request. */
export interface RouteRequest {
  /** The client's location as a region name, if known. */
  from?: string;
}

/**
 * Applies a routing policy over the current health, keeping the little state some policies need
 * (the round-robin turn, in-flight counts for least-connections).
 */
export class Router {
  readonly regions: readonly string[];
  readonly policy: RoutingPolicy;
  private readonly options: RouterOptions;
  private readonly inFlight = new Map<string, number>();
  private turn = 0;

  constructor(options: RouterOptions) {
    if (!ROUTING_POLICIES.includes(options.policy))
      throw new GtmConfigError(`Unknown routing policy ${options.policy}`);
    if (options.regions.length === 0) throw new GtmConfigError('A router needs at least one region');
    this.regions = [...options.regions];
    this.policy = options.policy;
    this.options = options;
  }

  /** Picks the region for a request. */
  route(request: RouteRequest = {}): string {
    const candidates = candidateRegions(this.regions, this.options.isHealthy ?? (() => true));
    switch (this.policy) {
      case 'latency':
        return chooseByLatency({
          candidates,
          from: request.from,
          latency: this.options.latency ?? defaultRttMs,
          fallback: this.options.fallbackRegion,
        });
      case 'weighted':
        return chooseByWeight({
          candidates,
          weights: this.options.weights ?? {},
          random: this.options.random ?? Math.random,
        });
      case 'round-robin':
        return chooseRoundRobin(candidates, this.turn++);
      case 'least-connections':
        return chooseLeastConnections(candidates, this.inFlight);
    }
  }

  /** Records a request that started in a region (least-connections); call the returned function when it ends. */
  begin(region: string): () => void {
    this.inFlight.set(region, (this.inFlight.get(region) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight.set(region, (this.inFlight.get(region) ?? 1) - 1);
    };
  }

  /** Requests in flight per region. */
  connections(): Record<string, number> {
    return Object.fromEntries(this.regions.map((r) => [r, this.inFlight.get(r) ?? 0]));
  }
}
