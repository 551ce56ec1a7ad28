export const SYNC_STATES = ['closed', 'open'] as const;
/** closed = replication from the peer is healthy; open = degraded (lag above threshold). */
export type SyncState = (typeof SYNC_STATES)[number];

/** Replication lag from a peer (port; the replication module's adapter implements it). */
export interface LagReader {
  /** Now minus the HLC of the newest heartbeat/event applied from `peer`; null when nothing arrived yet. */
  lagMs(peer: string): Promise<number | null>;
}

export interface SyncThresholds {
  /** Lag above which the breaker opens. */
  readonly degradeLagMs: number;
  /** Lag below which an open breaker closes again (lower than degradeLagMs: hysteresis). */
  readonly recoverLagMs: number;
}

/**
 * The sync breaker's transition (pure): opens above degradeLagMs, closes below recoverLagMs, and keeps
 * its state in between and when the lag is unknown, so it does not flap around one threshold.
 * @example nextSyncState('open', 3_000, { degradeLagMs: 5_000, recoverLagMs: 2_000 }) // 'open'
 */
export function nextSyncState(
  current: SyncState,
  lagMs: number | null,
  thresholds: SyncThresholds,
): SyncState {
  if (lagMs === null) return current;
  if (current === 'closed') return lagMs > thresholds.degradeLagMs ? 'open' : 'closed';
  return lagMs < thresholds.recoverLagMs ? 'closed' : 'open';
}

export interface SyncBreakerStatus {
  readonly state: SyncState;
  readonly lagMs: number | null;
  /** Wall-clock ms of the last transition (0 = never changed). */
  readonly since: number;
}

export interface SyncBreakersOptions extends SyncThresholds {
  readonly peers: readonly string[];
  readonly lag: LagReader;
  /** Lag is re-read at most this often (default 1 s). */
  readonly refreshMs?: number;
  readonly now?: () => number;
  readonly onChange?: (peer: string, status: SyncBreakerStatus) => void;
}

/**
 * One sync breaker per peer (degrade): while open, `important` writes for partitions homed in that peer
 * go to the home, and ordinary batch sync to it pauses.
 * @example if (await sync.isOpen('eu-west-1')) routeToHome();
 */
export class SyncBreakers {
  private readonly status = new Map<string, SyncBreakerStatus>();
  private readonly now: () => number;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: SyncBreakersOptions) {
    this.now = options.now ?? Date.now;
    for (const peer of options.peers) this.status.set(peer, { state: 'closed', lagMs: null, since: 0 });
  }

  /** Re-reads the lag of every peer (at most once per refreshMs unless `force`) and applies transitions. */
  async refresh(force = false): Promise<Record<string, SyncBreakerStatus>> {
    if (force || this.now() - this.lastRefresh >= (this.options.refreshMs ?? 1_000)) {
      this.pending ??= this.evaluate().finally(() => {
        this.pending = undefined;
      });
      await this.pending;
    }
    return this.snapshot();
  }

  /** True when the breaker for `peer` is open (degraded). */
  async isOpen(peer: string): Promise<boolean> {
    await this.refresh();
    return this.status.get(peer)?.state === 'open';
  }

  /** Peers whose breaker is open (the routing port `DegradeCheck`). */
  async degradedPeers(): Promise<string[]> {
    const status = await this.refresh();
    return Object.keys(status).filter((peer) => status[peer]!.state === 'open');
  }

  /** Ordinary-tier batch sync to/from `peer` runs only while its breaker is closed. */
  async allowsBatchSync(peer: string): Promise<boolean> {
    return !(await this.isOpen(peer));
  }

  /** Current status by peer, without re-reading lag. */
  snapshot(): Record<string, SyncBreakerStatus> {
    return Object.fromEntries(this.status);
  }

  private async evaluate(): Promise<void> {
    const lags = await Promise.all(
      this.options.peers.map(
        async (peer) => [peer, await this.options.lag.lagMs(peer).catch(() => null)] as const,
      ),
    );
    this.lastRefresh = this.now();
    for (const [peer, lagMs] of lags) {
      const current = this.status.get(peer)!;
      const state = nextSyncState(current.state, lagMs, this.options);
      const next = { state, lagMs, since: state === current.state ? current.since : this.now() };
      this.status.set(peer, next);
      if (state !== current.state) this.options.onChange?.(peer, next);
    }
  }
}
