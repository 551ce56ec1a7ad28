import { QuorumUnavailableError } from '../ownership/errors.ts';
import type { QuorumRegister } from '../ownership/quorum-register.ts';
import type { RegisterRecord } from '../ownership/register-record.ts';
import type { ControlReplica } from '../ownership/replica.ts';

export const TRAFFIC_STATES = ['active', 'drained'] as const;
/** active = the GTM may send users here; drained = /health fails on purpose so it sends them elsewhere. */
export type TrafficState = (typeof TRAFFIC_STATES)[number];

export interface RegionTraffic {
  readonly state: TrafficState;
  readonly reason?: string;
  /** Wall-clock ms of the change. */
  readonly changedAt: number;
}

/** Control-table key of a region's traffic state. */
export function regionTrafficKey(region: string): string {
  return `REGION#${region}`;
}

/**
 * Drains or restores a region (quorum write, so every region and the control plane agree). Retries once
 * when a concurrent change won.
 * @example await setRegionTraffic(register, 'eu-west-1', 'drained', 'failover');
 */
export async function setRegionTraffic(
  register: QuorumRegister,
  region: string,
  state: TrafficState,
  reason?: string,
): Promise<RegisterRecord<RegionTraffic>> {
  const key = regionTrafficKey(region);
  const value: RegionTraffic = { state, changedAt: Date.now(), ...(reason ? { reason } : {}) };
  for (let attempt = 1; ; attempt++) {
    const current = await register.read<RegionTraffic>(key);
    if (current?.value.state === state) return current;
    try {
      return await register.compareAndSet(key, current, value);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

export interface TrafficBreakerOptions {
  readonly region: string;
  readonly register: QuorumRegister;
  /** This region's replica: the fallback when a majority cannot be reached. */
  readonly local: ControlReplica;
  /** The state is re-read at most this often (default 5 s; the GTM probes every 10-30 s). */
  readonly refreshMs?: number;
}

/**
 * The global traffic breaker of one region: reads the region's traffic state from a majority (falling
 * back to the local copy when a majority is unreachable, so a partitioned region still answers its health
 * check) and caches it briefly. Draining only affects /health; the region keeps applying replication.
 * @example const healthy = !(await traffic.isDrained());
 */
export class TrafficBreaker {
  private cached: { traffic: RegionTraffic; at: number } | undefined;

  constructor(private readonly options: TrafficBreakerOptions) {}

  /** The region's traffic state. */
  async traffic(): Promise<RegionTraffic> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.refreshMs ?? 5_000)) return this.cached.traffic;
    const key = regionTrafficKey(this.options.region);
    let record: RegisterRecord<RegionTraffic> | null;
    try {
      record = await this.options.register.read<RegionTraffic>(key);
    } catch (error) {
      if (!(error instanceof QuorumUnavailableError)) throw error;
      record = await this.options.local.read<RegionTraffic>(key);
    }
    const traffic = record?.value ?? { state: 'active', changedAt: 0 };
    this.cached = { traffic, at: now };
    return traffic;
  }

  /** True when the region is drained. */
  async isDrained(): Promise<boolean> {
    return (await this.traffic()).state === 'drained';
  }

  /** Forgets the cached state (after a local change). */
  invalidate(): void {
    this.cached = undefined;
  }
}
