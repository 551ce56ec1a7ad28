import type { RegionTraffic } from '../resilience/traffic-breaker.ts';

/**
 * What /health says about the region, and how the watchdogs read it: `serving` (200), `drained` (503 on
 * purpose: Route 53 withdraws it, but it is alive and no failover is wanted) or `unwritable` (503: it
 * answers but cannot write, a gray failure that must end in a failover like a lost region).
 */
export type HealthStatus = 'serving' | 'drained' | 'unwritable';

/** The verdict of one health check. */
export interface HealthVerdict {
  readonly healthy: boolean;
  readonly status: HealthStatus;
  readonly reason?: string;
  readonly store: { readonly writable: boolean; readonly latencyMs: number; readonly error?: string };
  readonly traffic: RegionTraffic;
  readonly checkedAt: number;
}

export interface RegionHealthMonitorOptions {
  /** A small write to the region's own store (the control table); throws when the store cannot write. */
  readonly probeWrite: () => Promise<void>;
  /** The region's traffic state (drained or active); may be slow (a quorum read): it is bounded here. */
  readonly traffic: () => Promise<RegionTraffic>;
  /** A verdict younger than this is answered as is (default 1 s). */
  readonly cacheMs?: number;
  /**
   * Budget of one check (default 1.5 s): Route 53 waits 2 s for an answer, so /health must answer from
   * what it has by then. A write still pending at the deadline counts as unwritable.
   */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

const ACTIVE: RegionTraffic = { state: 'active', changedAt: 0 };

/** Resolves with the value, or with `fallback()` once `ms` passed. */
function within<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * The region's health from local information, answered within a bounded time: a probe write to the
 * region's own table (any error, throttling included, or no answer within the budget makes the region
 * `unwritable`) and the last known traffic state (refreshed in the background when its read is slow).
 * Concurrent checks share one probe; a recent verdict is reused.
 * @example const monitor = new RegionHealthMonitor({ probeWrite, traffic: () => breaker.traffic() }); const verdict = await monitor.check();
 */
export class RegionHealthMonitor {
  private last: HealthVerdict | undefined;
  private inFlight: Promise<HealthVerdict> | undefined;
  private lastTraffic: RegionTraffic = ACTIVE;
  private readonly now: () => number;

  constructor(private readonly options: RegionHealthMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The current verdict (cached up to `cacheMs`). */
  async check(): Promise<HealthVerdict> {
    const last = this.last;
    if (last && this.now() - last.checkedAt < (this.options.cacheMs ?? 1_000)) return last;
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async run(): Promise<HealthVerdict> {
    const budget = this.options.timeoutMs ?? 1_500;
    const [store, traffic] = await Promise.all([this.probe(budget), this.readTraffic(budget)]);
    const status: HealthStatus = !store.writable
      ? 'unwritable'
      : traffic.state === 'drained'
        ? 'drained'
        : 'serving';
    const reason =
      status === 'unwritable'
        ? `the region cannot write to its store: ${store.error ?? 'no answer'}`
        : status === 'drained'
          ? `drained${traffic.reason ? ` (${traffic.reason})` : ''}`
          : undefined;
    const verdict: HealthVerdict = {
      healthy: status === 'serving',
      status,
      ...(reason ? { reason } : {}),
      store,
      traffic,
      checkedAt: this.now(),
    };
    this.last = verdict;
    return verdict;
  }

  private async probe(budget: number): Promise<HealthVerdict['store']> {
    const started = this.now();
    const timedOut = Symbol('timeout');
    try {
      const outcome = await within<unknown>(this.options.probeWrite(), budget, () => timedOut);
      const latencyMs = this.now() - started;
      if (outcome === timedOut) return { writable: false, latencyMs, error: `no answer within ${budget} ms` };
      return { writable: true, latencyMs };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return { writable: false, latencyMs: this.now() - started, error: `${name}: ${message}` };
    }
  }

  /** The traffic state if it comes within the budget, else the last one known (its read goes on). */
  private async readTraffic(budget: number): Promise<RegionTraffic> {
    const read = this.options.traffic().then((traffic) => {
      this.lastTraffic = traffic;
      return traffic;
    });
    try {
      return await within(read, budget, () => this.lastTraffic);
    } catch {
      return this.lastTraffic;
    }
  }
}

/** Resolves with the value, or with `fallback` when it fails or takes longer than `ms`. */
export function boundedOr<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return within(promise, ms, () => fallback).catch(() => fallback);
}

/** A monitor that only reads the traffic state (no store probe): for APIs built without one. */
export function trafficOnlyMonitor(traffic?: () => Promise<RegionTraffic>): RegionHealthMonitor {
  return new RegionHealthMonitor({
    probeWrite: async () => {},
    traffic: traffic ?? (async () => ACTIVE),
    cacheMs: 0,
  });
}
