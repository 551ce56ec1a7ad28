/** Requests per partition, counted in memory by the region's API (module scope survives warm invocations). */
export class RequestCounter {
  private readonly counts = new Map<number, number>();

  /** Counts `n` requests for a partition. */
  record(partition: number, n = 1): void {
    this.counts.set(partition, (this.counts.get(partition) ?? 0) + n);
  }

  /** Counts so far, by partition. */
  snapshot(): Record<number, number> {
    return Object.fromEntries(this.counts);
  }

  /** Returns the counts and starts a new window (for periodic flushing). */
  drain(): Record<number, number> {
    const counts = this.snapshot();
    this.counts.clear();
    return counts;
  }
}

export interface MoveSuggestion {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
  /** Requests that arrived in `to` and in the current home, and in all regions. */
  readonly requestsAtTarget: number;
  readonly requestsAtHome: number;
  readonly total: number;
}

export interface HotPartitionReport {
  /** Each region's hottest partitions, hottest first. */
  readonly hottest: Readonly<Record<string, ReadonlyArray<{ partition: number; requests: number }>>>;
  /** Partitions most of whose requests arrive away from their home, biggest gain first. */
  readonly suggestions: readonly MoveSuggestion[];
}

export interface HotPartitionInput {
  readonly countsByRegion: Readonly<Record<string, Readonly<Record<number, number>>>>;
  /** Current home of each partition (partitions without one are skipped). */
  readonly homes: Readonly<Record<number, string>>;
  readonly top?: number;
  /** Suggest a move only when the target receives more than this share of the partition's requests. */
  readonly minShare?: number;
  readonly minRequests?: number;
}

/**
 * The hottest partitions per region and which ones to re-home ("most users first": a partition's home
 * should be where most of its requests arrive).
 * @example hotPartitionReport({ countsByRegion: { 'eu-west-1': { 17: 900 }, 'us-east-1': { 17: 50 } }, homes: { 17: 'us-east-1' } })
 */
export function hotPartitionReport(input: HotPartitionInput): HotPartitionReport {
  const top = input.top ?? 10;
  const hottest: Record<string, Array<{ partition: number; requests: number }>> = {};
  const perPartition = new Map<number, Map<string, number>>();
  for (const [region, counts] of Object.entries(input.countsByRegion)) {
    const list = Object.entries(counts).map(([p, requests]) => ({ partition: Number(p), requests }));
    hottest[region] = list.sort((a, b) => b.requests - a.requests || a.partition - b.partition).slice(0, top);
    for (const { partition, requests } of list) {
      const byRegion = perPartition.get(partition) ?? new Map<string, number>();
      byRegion.set(region, requests);
      perPartition.set(partition, byRegion);
    }
  }
  const suggestions: MoveSuggestion[] = [];
  for (const [partition, byRegion] of perPartition) {
    const home = input.homes[partition];
    if (!home) continue;
    const total = [...byRegion.values()].reduce((a, b) => a + b, 0);
    const [to, requestsAtTarget] = [...byRegion].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
    const requestsAtHome = byRegion.get(home) ?? 0;
    const enough = total >= (input.minRequests ?? 100) && requestsAtTarget / total > (input.minShare ?? 0.5);
    if (to !== home && enough) {
      suggestions.push({ partition, from: home, to, requestsAtTarget, requestsAtHome, total });
    }
  }
  suggestions.sort(
    (a, b) =>
      b.requestsAtTarget - b.requestsAtHome - (a.requestsAtTarget - a.requestsAtHome) ||
      a.partition - b.partition,
  );
  return { hottest, suggestions: suggestions.slice(0, top) };
}
