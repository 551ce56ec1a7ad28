import type { Topology } from '../config/index.ts';
import type { GlobalQuotaKey, QuotaKey, QuotaList } from './catalog.ts';
import { modelWorkload, type Workload } from './model.ts';
import { scaleProfile, type TrafficProfile } from './profile.ts';
import { CODE_SETTINGS, type FunctionName, type Runtime } from './runtime.ts';
import type { UsageLine } from './usage-types.ts';

/** A limit's value and what to do when it binds. */
interface LimitValue {
  readonly value: number;
  readonly unit: string;
  readonly raise: string;
}

/** A limit the write path can hit in one region, and how much of it a workload uses. */
interface LimitSpec {
  readonly id: string;
  readonly name: string;
  limit(quotas: QuotaList, region: string, topology: Topology): LimitValue;
  /** What the workload uses of it in the region, per second. */
  use(workload: Workload, region: string): number;
}

const quota = (key: QuotaKey) => (quotas: QuotaList, region: string) => quotas.get(region, key);
const globalQuota = (key: GlobalQuotaKey, raise?: string) => (quotas: QuotaList) => {
  const entry = quotas.global(key);
  return raise ? { ...entry, raise } : entry;
};

const sumOf = (lines: readonly UsageLine[], value: (l: UsageLine) => number) =>
  lines.reduce((s, l) => s + value(l), 0);
const inRegion = (w: Workload, region: string, pick: (l: UsageLine) => boolean) =>
  w.usage.filter((l) => l.region === region && pick(l));

/** Write units a second on one table of the region (a transaction's share on it; the index apart). */
function tableWrites(table: string) {
  return (w: Workload, region: string) =>
    sumOf(
      inRegion(w, region, (l) => l.service === 'dynamodb'),
      (l) =>
        l.writeUnitsByTable
          ? (l.writeUnitsByTable[table as keyof typeof l.writeUnitsByTable] ?? 0)
          : l.table === table
            ? l.writeUnits
            : 0,
    );
}

/** The limits checked, per region. */
export const LIMITS: readonly LimitSpec[] = [
  {
    id: 'dynamodb.watermarkKey',
    name: 'DynamoDB per-key throughput: replication table key WATERMARK (every applied event and heartbeat)',
    limit: globalQuota(
      'dynamodb.partitionKeyWriteUnitsPerSecond',
      'not adjustable: the watermark rows of every origin share one partition key (lib/replication/watermarks.ts); spreading them is a code change',
    ),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.hotKey === 'replication/WATERMARK'),
        (l) => l.writeUnits,
      ),
  },
  {
    id: 'eventbridge.putEvents',
    name: 'EventBridge PutEvents requests (publisher)',
    limit: quota('eventbridge.putEventsPerSecond'),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.operation === 'events:PutEvents' && l.fn === 'publisher'),
        (l) => l.requests,
      ),
  },
  {
    id: 'eventbridge.invocations',
    name: 'EventBridge rule invocations (peer buses, applier)',
    limit: quota('eventbridge.invocationsPerSecond'),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.operation === 'events:Invocation'),
        (l) => l.requests,
      ),
  },
  {
    id: 'lambda.concurrency',
    name: 'Lambda concurrent executions (every function of the cell)',
    limit: quota('lambda.concurrentExecutions'),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.operation === 'lambda:Invoke'),
        (l) => (l.billed * 1024) / CODE_SETTINGS.memoryMb[l.fn as FunctionName],
      ),
  },
  {
    id: 'apigateway.requests',
    name: 'API Gateway requests (clients, forwarded writes, health checks)',
    limit: quota('apigateway.requestsPerSecond'),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.service === 'apigateway'),
        (l) => l.requests,
      ),
  },
  {
    id: 'apigateway.v1Throttle',
    name: "API route throttle of /v1 (the topology's api.throttle.v1)",
    limit: (_q, _r, topology) => ({
      value: topology.api.throttle.v1.rateLimit,
      unit: 'requests per second on /v1 (steady rate; API Gateway answers 429 beyond)',
      raise: 'raise api.throttle.v1 (rateLimit, burstLimit) in the topology',
    }),
    use: (w, r) => {
      const flow = w.flows.find((f) => f.region === r)!;
      return flow.types.reduce((s, t) => s + t.writesArriving + t.reads, 0);
    },
  },
  {
    id: 'dynamodb.eventsTableWrites',
    name: 'DynamoDB events table write units',
    limit: quota('dynamodb.tableWriteUnitsPerSecond'),
    use: tableWrites('events'),
  },
  {
    id: 'dynamodb.stateTableWrites',
    name: 'DynamoDB state table write units',
    limit: quota('dynamodb.tableWriteUnitsPerSecond'),
    use: tableWrites('state'),
  },
  {
    id: 'stepfunctions.transitions',
    name: 'Step Functions state transitions (the nightly Repair, averaged; not on the write path)',
    limit: quota('stepfunctions.stateTransitionsPerSecond'),
    use: (w, r) =>
      sumOf(
        inRegion(w, r, (l) => l.operation === 'states:StateTransition'),
        (l) => l.billed,
      ),
  },
];

/** Where one limit binds in one region. */
export interface LimitCapacity {
  readonly id: string;
  readonly name: string;
  readonly quota: number;
  readonly unit: string;
  /** Use of the limit at the profile's own rates. */
  readonly usedNow: number;
  /** Client writes per second reaching the region when the limit binds (Infinity: not within 10^6 x the profile). */
  readonly writesPerSecond: number;
  readonly raise: string;
}

export interface RegionCapacity {
  readonly region: string;
  /** Client writes per second the profile sends to this region now. */
  readonly writesNow: number;
  readonly limits: readonly LimitCapacity[];
  /** The first limit to bind as the whole profile scales up. */
  readonly first: LimitCapacity;
}

function writesOf(w: Workload, region: string): number {
  return w.flows.find((f) => f.region === region)!.types.reduce((s, t) => s + t.writesArriving, 0);
}

/**
 * The scale factor of the profile at which `used` reaches `quota`, or Infinity (not within 10^6 x). Use
 * grows about linearly with the scale, so secant steps from 1 and 2 converge in a few model runs.
 */
function bindingScale(used: (k: number) => number, quota: number): number {
  let [k0, u0, k1, u1] = [1, used(1), 2, used(2)];
  for (let i = 0; i < 12; i++) {
    if (Math.abs(u1 - quota) <= quota * 1e-4) return k1;
    if (u1 <= u0) return Number.POSITIVE_INFINITY;
    const next = Math.max(k1 / 10, k1 + ((quota - u1) * (k1 - k0)) / (u1 - u0));
    if (next > 1e6) return Number.POSITIVE_INFINITY;
    [k0, u0, k1, u1] = [k1, u1, next, used(next)];
  }
  return k1;
}

/**
 * The write rate per region at which each limit binds, scaling the whole profile (its mix of types,
 * reads and regions kept) over the full model.
 * @example capacity({ topology, profile, runtime, quotas })[0].first.name
 */
export function capacity(input: {
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
  quotas: QuotaList;
}): RegionCapacity[] {
  const { topology, profile, runtime, quotas } = input;
  const cache = new Map<number, Workload>();
  const at = (k: number): Workload => {
    const known = cache.get(k);
    if (known) return known;
    const workload = modelWorkload(topology, scaleProfile(profile, k), runtime);
    cache.set(k, workload);
    return workload;
  };
  const now = at(1);
  return now.flows.map(({ region }) => {
    const limits = LIMITS.map((spec): LimitCapacity => {
      const entry = spec.limit(quotas, region, topology);
      const k = bindingScale((scale) => spec.use(at(scale), region), entry.value);
      return {
        id: spec.id,
        name: spec.name,
        quota: entry.value,
        unit: entry.unit,
        usedNow: spec.use(now, region),
        writesPerSecond: Number.isFinite(k) ? writesOf(now, region) * k : Number.POSITIVE_INFINITY,
        raise: entry.raise,
      };
    });
    const first = [...limits].sort((a, b) => a.writesPerSecond - b.writesPerSecond)[0]!;
    return { region, writesNow: writesOf(now, region), limits, first };
  });
}
