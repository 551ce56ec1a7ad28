import { EventEmitter } from 'node:events';

/** A region's health endpoint. */
export interface HealthTarget {
  region: string;
  /** Full URL of the endpoint, e.g. `http://127.0.0.1:4001/health`. */
  url: string;
}

/** Options of a HealthChecker (Route 53 defaults: 30 s interval, threshold 3). */
export interface HealthCheckerOptions {
  targets: readonly HealthTarget[];
  intervalMs?: number;
  /** A probe slower than this fails (Route 53 waits 4 s for the connection, 2 s for the response). */
  timeoutMs?: number;
  /** Consecutive failures to turn unhealthy, and consecutive successes to turn healthy again (1-10). */
  failureThreshold?: number;
  /** State before the first verdict (healthy). */
  initiallyHealthy?: boolean;
  now?: () => number;
}

/** Emitted on `change` when a region's verdict flips. */
export interface HealthChange {
  region: string;
  healthy: boolean;
  /** When the flip was decided (ms since the epoch, from `now`). */
  at: number;
  /** The probe outcome that tipped it: an HTTP status or an error message. */
  detail: string;
}

/** The checker's view of one region. */
export interface RegionHealth {
  region: string;
  healthy: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastCheckedAt?: number;
  lastDetail?: string;
  changedAt?: number;
}

type ProbeOutcome = { ok: boolean; detail: string };

/**
 * Probes each region's health URL every `intervalMs` with Route 53 semantics: a 2xx/3xx answer within the
 * timeout is a success; `failureThreshold` consecutive failures make a region unhealthy and as many
 * consecutive successes make it healthy again. Emits `change` events ({@link HealthChange}) and, after
 * every probe, `probe` with the region's state (what Route 53 turns into its HealthCheckStatus metric).
 */
export class HealthChecker extends EventEmitter<{ change: [HealthChange]; probe: [RegionHealth] }> {
  private readonly states = new Map<string, RegionHealth>();
  private readonly targets: readonly HealthTarget[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly threshold: number;
  private readonly now: () => number;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private aborter = new AbortController();
  private running = false;

  constructor(options: HealthCheckerOptions) {
    super();
    this.targets = [...options.targets];
    this.intervalMs = options.intervalMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? Math.min(2000, this.intervalMs);
    this.threshold = options.failureThreshold ?? 3;
    this.now = options.now ?? Date.now;
    if (!(this.threshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    for (const { region } of this.targets) {
      this.states.set(region, {
        region,
        healthy: options.initiallyHealthy ?? true,
        consecutiveFailures: 0,
        consecutiveSuccesses: 0,
      });
    }
  }

  /**
   * Starts probing: each region now, then at a fixed rate of one probe every `intervalMs` (as Route 53's
   * checkers do): a region's probe is never held back by another region's slow one, and a probe's own
   * duration does not stretch the interval (unless it outlasts it: probes of one region never overlap).
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const target of this.targets) {
      const tick = async () => {
        const startedAt = performance.now();
        const probe = this.probe(target.url).then((outcome) => this.record(target.region, outcome));
        this.inFlight.add(probe);
        await probe;
        this.inFlight.delete(probe);
        if (!this.running) return;
        const wait = Math.max(0, startedAt + this.intervalMs - performance.now());
        this.timers.set(target.region, setTimeout(tick, wait));
      };
      void tick();
    }
  }

  /** Stops probing, aborts probes in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.aborter.abort();
    await Promise.all(this.inFlight);
    this.aborter = new AbortController();
  }

  /** Runs one round of probes now (what the timer does); handy to drive the checker by hand. */
  async probeAll(): Promise<void> {
    await Promise.all(this.targets.map(async (t) => this.record(t.region, await this.probe(t.url))));
  }

  /** Whether the region is currently healthy (unknown regions are not). */
  isHealthy(region: string): boolean {
    return this.states.get(region)?.healthy ?? false;
  }

  /** The regions currently healthy, in configuration order. */
  healthyRegions(): string[] {
    return this.targets.map((t) => t.region).filter((r) => this.isHealthy(r));
  }

  /** A snapshot of every region's state. */
  status(): RegionHealth[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  private async probe(url: string): Promise<ProbeOutcome> {
    const signal = AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const response = await fetch(url, {
        signal,
        redirect: 'manual',
        headers: { 'user-agent': 'multiactive-gtm-health' },
      });
      await response.body?.cancel();
      return { ok: response.status >= 200 && response.status < 400, detail: `HTTP ${response.status}` };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      const detail =
        name === 'TimeoutError'
          ? `timeout after ${this.timeoutMs} ms`
          : String((error as Error).cause ?? error);
      return { ok: false, detail };
    }
  }

  private record(region: string, outcome: ProbeOutcome): void {
    const state = this.states.get(region);
    if (!state || this.aborter.signal.aborted) return;
    const at = this.now();
    state.lastCheckedAt = at;
    state.lastDetail = outcome.detail;
    state.consecutiveSuccesses = outcome.ok ? state.consecutiveSuccesses + 1 : 0;
    state.consecutiveFailures = outcome.ok ? 0 : state.consecutiveFailures + 1;
    const flip = state.healthy
      ? state.consecutiveFailures >= this.threshold
      : state.consecutiveSuccesses >= this.threshold;
    if (flip) {
      state.healthy = !state.healthy;
      state.changedAt = at;
      this.emit('change', { region, healthy: state.healthy, at, detail: outcome.detail });
    }
    this.emit('probe', { ...state });
  }
}
