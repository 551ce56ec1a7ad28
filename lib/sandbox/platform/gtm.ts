import { latencyBetween, type Topology } from '../../config/index.ts';
import {
  FrontDoor,
  GtmDnsServer,
  type HealthChange,
  HealthChecker,
  Router,
  type RoutingPolicy,
} from '../gtm/index.ts';

/** The sandbox's global traffic manager: health checks, a router, the HTTP front door and DNS. */
export interface SandboxGtm {
  readonly checker: HealthChecker;
  readonly router: Router;
  readonly frontDoor: FrontDoor;
  readonly dns: GtmDnsServer;
  readonly frontDoorUrl: string;
  readonly dnsPort: number;
  readonly dnsName: string;
  readonly changes: HealthChange[];
  stop(): Promise<void>;
}

export interface SandboxGtmOptions {
  readonly topology: Topology;
  readonly regions: readonly string[];
  readonly endpoints: Readonly<Record<string, string>>;
  readonly policy: RoutingPolicy;
  readonly mode: 'redirect' | 'proxy';
  readonly intervalMs: number;
  readonly failureThreshold: number;
  readonly dnsName: string;
  readonly frontDoorPort?: number;
  readonly dnsPort?: number;
  readonly onChange?: (change: HealthChange) => void;
}

/** Starts the GTM: probes each region's /health, routes by policy over the healthy ones. */
export async function startGtm(options: SandboxGtmOptions): Promise<SandboxGtm> {
  const { topology, regions } = options;
  const checker = new HealthChecker({
    targets: regions.map((region) => ({
      region,
      url: `${options.endpoints[region]}${topology.gtm.healthCheck.path}`,
    })),
    intervalMs: options.intervalMs,
    // Route 53 allows ~2 s for an answer; the sandbox shares two cores with three JVMs, so never less.
    timeoutMs: 2_000,
    failureThreshold: options.failureThreshold,
  });
  const changes: HealthChange[] = [];
  checker.on('change', (change) => {
    changes.push(change);
    options.onChange?.(change);
  });
  const router = new Router({
    regions,
    policy: options.policy,
    isHealthy: (region) => checker.isHealthy(region),
    latency: (from, to) => latencyBetween(topology, from, to),
    fallbackRegion: regions[0],
    weights: Object.fromEntries(topology.regions.map((r) => [r.name, r.weight])),
  });
  const frontDoor = new FrontDoor({ router, endpoints: options.endpoints, mode: options.mode });
  const frontDoorUrl = await frontDoor.listen(options.frontDoorPort ?? 0);
  const dns = new GtmDnsServer({ router, name: options.dnsName, ttl: topology.gtm.ttlSeconds });
  const dnsPort = await dns.listen(options.dnsPort ?? 0);
  checker.start();
  return {
    checker,
    router,
    frontDoor,
    dns,
    frontDoorUrl,
    dnsPort,
    dnsName: options.dnsName,
    changes,
    async stop() {
      await checker.stop();
      await frontDoor.close();
      await dns.close();
    },
  };
}
