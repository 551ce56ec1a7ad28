/** A metric's identity: namespace, name and the exact dimension set (CloudWatch matches it exactly). */
export interface MetricId {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /**
   * CloudWatch is regional: the same name and dimensions in two regions are two metrics (every cell's
   * readiness function publishes `Readiness{service}`). Datapoints put without a region count in any.
   */
  readonly region?: string;
}

interface Datapoint {
  readonly value: number;
  readonly at: number;
}

/** The identity as one string: dimensions sorted by name. */
export function metricKey(metric: MetricId): string {
  const dims = Object.entries(metric.dimensions)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${metric.region ?? ''}|${metric.namespace}|${metric.name}|${dims}`;
}

/**
 * The sandbox's CloudWatch metrics: datapoints the handlers, the GTM and the API Gateway put, kept for
 * `retentionMs` and read back per period by the alarm evaluator.
 */
export class LocalMetrics {
  private readonly series = new Map<string, Datapoint[]>();

  constructor(
    private readonly retentionMs = 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one datapoint (now, unless `at` says otherwise). */
  put(metric: MetricId, value: number, at = this.now()): void {
    const key = metricKey(metric);
    const points = this.series.get(key) ?? [];
    points.push({ value, at });
    const horizon = at - this.retentionMs;
    while (points.length > 0 && (points[0] as Datapoint).at < horizon) points.shift();
    this.series.set(key, points);
  }

  /**
   * Values of the datapoints of `metric` with `from <= at < to`: those put in its region, and those put
   * without a region.
   */
  values(metric: MetricId, from: number, to: number): number[] {
    const keys = new Set([metricKey(metric), metricKey({ ...metric, region: undefined })]);
    return [...keys]
      .flatMap((key) => this.series.get(key) ?? [])
      .filter((p) => p.at >= from && p.at < to)
      .map((p) => p.value);
  }
}
