import type { Topology } from '../config/index.ts';
import type { PriceList } from './catalog.ts';
import { type RegionFlow, regionFlows } from './flows.ts';
import { type GlobalInventory, inventoryOf, type RegionInventory } from './inventory.ts';
import { type CostLine, priceMonth, totalsBy } from './pricing.ts';
import type { TrafficProfile } from './profile.ts';
import type { Runtime } from './runtime.ts';
import { type RegionStorage, regionStorage, repairUsage } from './storage.ts';
import { computeUsage } from './usage-compute.ts';
import { dynamoUsage } from './usage-dynamodb.ts';
import type { CostTier, Service, UsageLine } from './usage-types.ts';

/** What a topology does under a profile: per-second usage, storage and fixed resources. */
export interface Workload {
  readonly flows: readonly RegionFlow[];
  readonly usage: readonly UsageLine[];
  readonly storage: readonly RegionStorage[];
  readonly inventory: { readonly regions: readonly RegionInventory[]; readonly global: GlobalInventory };
}

/**
 * The usage of a topology under a traffic profile, from the per-operation request table (operations.ts)
 * and the code's timers (runtime.ts).
 * @example modelWorkload(topology, profile, awsRuntime(topology, quotas)).usage
 */
export function modelWorkload(topology: Topology, profile: TrafficProfile, runtime: Runtime): Workload {
  const flows = regionFlows(topology, profile, runtime);
  const storage = regionStorage(flows, profile);
  const usage = [
    ...flows.flatMap((flow) => [...dynamoUsage(flow, topology), ...computeUsage({ flow, topology, profile, runtime })]),
    ...repairUsage({ topology, profile, runtime, storage }),
  ];
  return { flows, usage, storage, inventory: inventoryOf(topology) };
}

/** A month of a workload in dollars, with its totals. */
export interface MonthlyCost {
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly byService: Readonly<Partial<Record<Service, number>>>;
  readonly byRegion: Readonly<Record<string, number>>;
  readonly byTier: Readonly<Partial<Record<CostTier, number>>>;
}

/** Prices a workload's month. */
export function monthlyCost(topology: Topology, workload: Workload, prices: PriceList): MonthlyCost {
  const lines = priceMonth({ topology, ...workload, prices });
  return {
    lines,
    total: lines.reduce((sum, l) => sum + l.usd, 0),
    byService: totalsBy(lines, (l) => l.service),
    byRegion: totalsBy(lines, (l) => l.region),
    byTier: totalsBy(lines, (l) => l.tier),
  };
}

/** Requests per second by service (and region, when asked): what the sandbox comparison checks. */
export function requestsByService(
  usage: readonly UsageLine[],
  options: { byRegion?: boolean; operations?: readonly string[] } = {},
): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of usage) {
    if (line.requests === 0) continue;
    if (options.operations && !options.operations.includes(line.operation)) continue;
    const key = options.byRegion ? `${line.service}@${line.region}` : line.service;
    totals[key] = (totals[key] ?? 0) + line.requests;
  }
  return totals;
}
