import type { LagReader } from '../resilience/sync-breaker.ts';
import type { WatermarkReader } from '../routing/read-your-writes.ts';
import { lagMs, type Watermark, type WatermarkStore } from './watermarks.ts';

export interface ReplicationWatermarksOptions {
  readonly store: Pick<WatermarkStore, 'list'>;
  /**
   * How often a healthy peer's heartbeat arrives (`thresholds.heartbeatIntervalMs`). A quiet peer's
   * newest watermark is up to one interval old without anything being late, so that much silence is not
   * counted as lag (see `peerLagMs`). 0 (default): the raw age of the watermark.
   */
  readonly heartbeatIntervalMs?: number;
  /** A listing of the watermarks is reused for this long (default 0: only concurrent calls share one query). */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

/**
 * Replication lag from a peer for the sync breakers. Without an allowance it is `lagMs` (now − wall time
 * of the newest HLC applied from the peer). With one, it is the larger of the delivery delay of that
 * newest event (appliedAt − wall) and the watermark's age beyond one heartbeat interval: a backlog shows
 * at once through the delivery delay, silence (a partition, a dead peer) once it outlasts a heartbeat,
 * and the saw-tooth between two heartbeats of a healthy peer never reaches the degrade threshold.
 * @example peerLagMs(Date.now(), watermark, 5_000) // null before anything arrived from the peer
 */
export function peerLagMs(
  now: number,
  watermark: Watermark | undefined,
  heartbeatIntervalMs = 0,
): number | null {
  const age = lagMs(now, watermark);
  if (age === null || !watermark || heartbeatIntervalMs <= 0) return age;
  const appliedAt = Date.parse(watermark.appliedAt);
  const delivery = Number.isNaN(appliedAt) ? 0 : Math.max(0, appliedAt - watermark.wall);
  return Math.max(delivery, age - heartbeatIntervalMs);
}

interface CachedListing {
  readonly list: Promise<Watermark[]>;
  /** Unset while the query runs. */
  answeredAt?: number;
}

/**
 * The replication module's side of two routing ports, over the watermark rows of the local replication
 * table: `watermarkFor(origin)` for read-your-writes and `lagMs(peer)` for the sync breakers.
 * @example const watermarks = new ReplicationWatermarks({ store: new WatermarkStore({ client, tableName }) });
 * multiRegionDeps({ ...options, watermarks, lag: watermarks });
 */
export class ReplicationWatermarks implements WatermarkReader, LagReader {
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private cached: CachedListing | undefined;

  constructor(private readonly options: ReplicationWatermarksOptions) {
    this.now = options.now ?? Date.now;
    this.maxAgeMs = options.maxAgeMs ?? 0;
  }

  /** The newest HLC applied here from `origin` (events or heartbeats), null before the first. */
  async watermarkFor(origin: string): Promise<string | null> {
    return (await this.find(origin))?.hlc ?? null;
  }

  /** Replication lag from `peer` (see `peerLagMs`); null when nothing ever arrived from it. */
  async lagMs(peer: string): Promise<number | null> {
    const watermark = await this.find(peer);
    return peerLagMs(this.now(), watermark, this.options.heartbeatIntervalMs);
  }

  private async find(origin: string): Promise<Watermark | undefined> {
    return (await this.list()).find((w) => w.origin === origin);
  }

  /** One query serves every call made while it runs, and for `maxAgeMs` after it answered. */
  private list(): Promise<Watermark[]> {
    const cached = this.cached;
    const fresh =
      cached && (cached.answeredAt === undefined || this.now() - cached.answeredAt < this.maxAgeMs);
    if (cached && fresh) return cached.list;
    const entry: CachedListing = { list: this.options.store.list() };
    this.cached = entry;
    entry.list.then(
      () => {
        entry.answeredAt = this.now();
      },
      () => {
        if (this.cached === entry) this.cached = undefined;
      },
    );
    return entry.list;
  }
}
