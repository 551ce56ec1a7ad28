/** Percentile of a sorted sample (nearest rank); undefined for an empty sample. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Lag figures of one link. */
export interface LinkLag {
  readonly from: string;
  readonly to: string;
  readonly samples: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

/**
 * End-to-end replication lag per link (`origin -> applying region`): the time from an event's HLC in its
 * origin to the moment the applier in the peer finished applying it. Bounded reservoir per link.
 */
export class LagRecorder {
  private readonly samples = new Map<string, number[]>();
  /** Timestamped samples of the last few minutes per link, for live charts (console). */
  private readonly recentSamples = new Map<string, Array<[at: number, lagMs: number]>>();
  private readonly recentWindowMs = 10 * 60_000;
  private readonly limit: number;

  constructor(limit = 50_000) {
    this.limit = limit;
  }

  /** Records one applied event. */
  record(from: string, to: string, lagMs: number): void {
    const key = `${from}>${to}`;
    let list = this.samples.get(key);
    if (!list) {
      list = [];
      this.samples.set(key, list);
    }
    if (list.length < this.limit) list.push(lagMs);
    else list[Math.floor(Math.random() * this.limit)] = lagMs;
    const now = Date.now();
    const recent = this.recentSamples.get(key) ?? [];
    recent.push([now, lagMs]);
    if (recent.length > 20_000 || (recent[0] && recent[0][0] < now - this.recentWindowMs * 1.1)) {
      const from = recent.findIndex(([at]) => at >= now - this.recentWindowMs);
      recent.splice(0, from < 0 ? recent.length : Math.max(from, recent.length - 20_000));
    }
    this.recentSamples.set(key, recent);
  }

  /** p50/p99 of one link per `bucketMs` over the last `windowMs` (buckets without samples left out). */
  series(
    from: string,
    to: string,
    options: { windowMs: number; bucketMs: number; now?: number },
  ): Array<{ at: number; p50Ms: number; p99Ms: number; samples: number }> {
    const now = options.now ?? Date.now();
    const start = now - options.windowMs;
    const buckets = new Map<number, number[]>();
    for (const [at, lag] of this.recentSamples.get(`${from}>${to}`) ?? []) {
      if (at < start) continue;
      const bucket = Math.floor(at / options.bucketMs) * options.bucketMs;
      const list = buckets.get(bucket) ?? [];
      list.push(lag);
      buckets.set(bucket, list);
    }
    return [...buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([at, values]) => {
        const sorted = values.sort((a, b) => a - b);
        return { at, p50Ms: percentile(sorted, 50)!, p99Ms: percentile(sorted, 99)!, samples: sorted.length };
      });
  }

  /** Forgets every sample (between phases of a run). */
  reset(): void {
    this.samples.clear();
    this.recentSamples.clear();
  }

  /** p50/p99/max per link, links in the order given. */
  links(regions: readonly string[]): LinkLag[] {
    const out: LinkLag[] = [];
    for (const from of regions) {
      for (const to of regions) {
        if (from === to) continue;
        const sorted = [...(this.samples.get(`${from}>${to}`) ?? [])].sort((a, b) => a - b);
        out.push({
          from,
          to,
          samples: sorted.length,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          maxMs: sorted[sorted.length - 1],
        });
      }
    }
    return out;
  }
}
