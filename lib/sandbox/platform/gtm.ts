import { latencyBetween, type Topology } from '../../config/index.ts';
import type { HealthCheckSpec } from '../cdk/health-checks.ts';
import {
  FrontDoor,
  GtmConfigError,
  GtmDnsServer,
  type HealthChange,
  HealthChecker,
  type RegionHealth,
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
  /** The synthesized Route 53 health checks (path, interval, threshold), one per region. */
  readonly healthChecks: readonly HealthCheckSpec[];
  /** Multiplies the checks' interval (the sandbox's `awsTimeScale`); thresholds are kept. */
  readonly timeScale: number;
  readonly dnsName: string;
  readonly frontDoorPort?: number;
  readonly dnsPort?: number;
  readonly onChange?: (change: HealthChange) => void;
  /** Every probe's outcome (Route 53's HealthCheckStatus metric is made from these). */
  readonly onProbe?: (health: RegionHealth, check: HealthCheckSpec) => void;
}

/** Starts the GTM: probes each region's /health, routes by policy over the healthy ones. */
export async function startGtm(options: SandboxGtmOptions): Promise<SandboxGtm> {
  const { topology, regions } = options;
  const checkOf = (region: string) => {
    const check = options.healthChecks.find((c) => c.region === region);
    if (!check) throw new GtmConfigError(`no synthesized health check for ${region}`);
    return check;
  };
  // The checks of one environment share their settings (one HealthCheck construct per region).
  const first = checkOf(regions[0] as string);
  const checker = new HealthChecker({
    targets: regions.map((region) => ({
      region,
      url: `${options.endpoints[region]}${checkOf(region).path}`,
    })),
    intervalMs: first.intervalSeconds * 1_000 * options.timeScale,
    // Route 53 allows ~2 s for an answer; the sandbox shares two cores with three JVMs, so never less.
    timeoutMs: 2_000,
    failureThreshold: first.failureThreshold,
  });
  checker.on('probe', (health) => options.onProbe?.(health, checkOf(health.region)));
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
