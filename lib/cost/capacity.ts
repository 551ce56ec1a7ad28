import type { Topology } from '../config/index.ts';
import type { GlobalQuotaKey, QuotaKey, QuotaList } from './catalog.ts';
import { modelWorkload, type Workload } from './model.ts';
import { scaleProfile, type TrafficProfile } from './profile.ts';
import type { FunctionName, Runtime } from './runtime.ts';
import type { UsageLine } from './usage-types.ts';

/** A limit the write path can hit in one region, and how much of it a workload uses. */
interface LimitSpec {
  readonly id: string;
  readonly name: string;
  readonly quota: { readonly key: QuotaKey; readonly global?: never } | { readonly key: GlobalQuotaKey; readonly global: true };
  /** What the workload uses of it in the region, per second. */
  use(at: LimitContext): number;
}

interface LimitContext {
  readonly workload: Workload;
  readonly region: string;
  readonly runtime: Runtime;
  readonly partitions: number;
}

const inRegion = (usage: readonly UsageLine[], region: string, pick: (l: UsageLine) => boolean) =>
  usage.filter((l) => l.region === region && pick(l));
const total = (lines: readonly UsageLine[], value: (l: UsageLine) => number) => lines.reduce((s, l) => s + value(l), 0);

function tableWrites(table: string) {
  return ({ workload: w, region }: LimitContext) =>
    total(inRegion(w.usage, region, (l) => l.service === 'dynamodb'), (l) => {
      const own = l.writeUnitsByTable ? (l.writeUnitsByTable[table as keyof typeof l.writeUnitsByTable] ?? 0) : l.table === table ? l.writeUnits : 0;
      return own + (table === 'events' && l.table === 'events' ? l.indexWriteUnits : 0);
    });
}

/** The limits checked, per region. Step Functions is not on the write path: checked with no load. */
export const LIMITS: readonly LimitSpec[] = [
  {
    id: 'eventbridge.putEvents',
    name: 'EventBridge PutEvents requests (publisher)',
    quota: { key: 'eventbridge.putEventsPerSecond' },
    use: ({ workload: w, region: r }) =>
      total(inRegion(w.usage, r, (l) => l.operation === 'events:PutEvents'), (l) => l.requests),
  },
  {
    id: 'eventbridge.invocations',
    name: 'EventBridge rule invocations (peer buses, applier)',
    quota: { key: 'eventbridge.invocationsPerSecond' },
    use: ({ workload: w, region: r }) =>
      total(inRegion(w.usage, r, (l) => l.operation === 'events:Invocation'), (l) => l.requests),
  },
  {
    id: 'lambda.concurrency',
    name: 'Lambda concurrent executions (all functions of the cell)',
    quota: { key: 'lambda.concurrentExecutions' },
    use: ({ workload: w, region: r, runtime }) =>
      total(inRegion(w.usage, r, (l) => l.operation === 'lambda:Invoke'), (l) => {
        const fn = l.caller.slice(l.caller.indexOf('/') + 1) as FunctionName;
        return (l.billed * 1024) / runtime.memoryMb[fn];
      }),
  },
  {
    id: 'apigateway.requests',
    name: 'API Gateway requests (clients, forwarded writes, health checks)',
    quota: { key: 'apigateway.requestsPerSecond' },
    use: ({ workload: w, region: r }) =>
      total(inRegion(w.usage, r, (l) => l.service === 'apigateway'), (l) => l.requests),
  },
  {
    id: 'dynamodb.eventsTableWrites',
    name: 'DynamoDB events table write units (table and byPartition index)',
    quota: { key: 'dynamodb.tableWriteUnitsPerSecond' },
    use: tableWrites('events'),
  },
  {
    id: 'dynamodb.stateTableWrites',
    name: 'DynamoDB state table write units',
    quota: { key: 'dynamodb.tableWriteUnitsPerSecond' },
    use: tableWrites('state'),
  },
  {
    id: 'dynamodb.watermarkKey',
    name: 'DynamoDB per-key throughput: replication table key WATERMARK (one update per applied event)',
    quota: { key: 'dynamodb.partitionKeyWriteUnitsPerSecond', global: true },
    use: ({ workload: w, region: r }) =>
      total(inRegion(w.usage, r, (l) => l.hotKey === 'replication/WATERMARK'), (l) => l.writeUnits),
  },
  {
    id: 'dynamodb.partitionIndexKey',
    name: 'DynamoDB per-key throughput: byPartition index key of one partition (spread evenly)',
    quota: { key: 'dynamodb.partitionKeyWriteUnitsPerSecond', global: true },
    use: ({ workload: w, region: r, partitions }) =>
      total(inRegion(w.usage, r, (l) => l.table === 'events'), (l) => l.indexWriteUnits) / partitions,
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
  /** Client writes per second reaching the region when the limit binds (Infinity: never on the write path). */
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
 * The write rate per region at which each limit binds, scaling the whole profile (its mix of types,
 * reads and regions kept): bisection on the scale factor over the full model.
 * @example capacity(topology, profile, runtime, quotas)[0].first.name
 */
export function capacity(topology: Topology, profile: TrafficProfile, runtime: Runtime, quotas: QuotaList): RegionCapacity[] {
  const partitions = profile.activePartitions ?? topology.partitions;
  const at = (k: number): Workload => modelWorkload(topology, scaleProfile(profile, k), runtime);
  const now = at(1);
  const use = (spec: LimitSpec, workload: Workload, region: string) => spec.use({ workload, region, runtime, partitions });
  return now.flows.map(({ region }) => {
    const limits = LIMITS.map((spec): LimitCapacity => {
      const entry = spec.quota.global ? quotas.global(spec.quota.key) : quotas.get(region, spec.quota.key);
      const used = (k: number) => use(spec, at(k), region);
      let high = 1;
      while (used(high) < entry.value && high < 1e7) high *= 4;
      let writesPerSecond = Number.POSITIVE_INFINITY;
      if (used(high) >= entry.value) {
        let low = 0;
        for (let i = 0; i < 40; i++) {
          const mid = (low + high) / 2;
          if (used(mid) < entry.value) low = mid;
          else high = mid;
        }
        writesPerSecond = writesOf(at(high), region);
      }
      return {
        id: spec.id,
        name: spec.name,
        quota: entry.value,
        unit: entry.unit,
        usedNow: use(spec, now, region),
        writesPerSecond,
        raise: entry.raise,
      };
    });
    const first = [...limits].sort((a, b) => a.writesPerSecond - b.writesPerSecond)[0]!;
    return { region, writesNow: writesOf(now, region), limits, first };
  });
}
