import type { Topology } from '../config/index.ts';
import type { PriceList } from './catalog.ts';
import { type RegionFlow, regionFlows } from './flows.ts';
import type { Inventory } from './inventory.ts';
import { type CostLine, priceMonth, totalsBy } from './pricing.ts';
import type { TrafficProfile } from './profile.ts';
import type { Runtime } from './runtime.ts';
import { type RegionStorage, regionStorage } from './storage.ts';
import { computeUsage } from './usage-compute.ts';
import { dynamoUsage } from './usage-dynamodb.ts';
import { readinessUsage, repairUsage } from './usage-scheduled.ts';
import type { CostTier, Service, UsageLine } from './usage-types.ts';

/** What a topology does under a profile: per-second usage and what it stores. */
export interface Workload {
  readonly flows: readonly RegionFlow[];
  readonly usage: readonly UsageLine[];
  readonly storage: readonly RegionStorage[];
}

/**
 * The usage of a topology under a traffic profile, from the per-operation request table (operations.ts),
 * the flows (flows.ts) and the code's timers (runtime.ts). `inventory` (the synthesized stacks) tells the
 * readiness function how many queues it reads.
 * @example modelWorkload(topology, profile, awsRuntime(topology, quotas, sagaShapes(app.sagas))).usage
 */
export function modelWorkload(
  topology: Topology,
  profile: TrafficProfile,
  runtime: Runtime,
  inventory?: Inventory,
): Workload {
  const flows = regionFlows(topology, profile, runtime);
  const storage = regionStorage(flows, profile);
  const usage = [
    ...flows.flatMap((flow) => [
      ...dynamoUsage(flow, runtime.sagas),
      ...computeUsage({ flow, topology, profile, runtime }),
    ]),
    ...readinessUsage(topology, runtime, inventory),
    ...repairUsage({ topology, profile, runtime, storage }),
  ];
  return { flows, usage, storage };
}

/** A month of a workload in dollars, with its totals. */
export interface MonthlyCost {
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly byService: Readonly<Partial<Record<Service, number>>>;
  readonly byRegion: Readonly<Record<string, number>>;
  readonly byTier: Readonly<Partial<Record<CostTier, number>>>;
}

/** Prices a workload's month with the topology's fixed resources. */
export function monthlyCost(input: {
  topology: Topology;
  workload: Workload;
  inventory: Inventory;
  prices: PriceList;
}): MonthlyCost {
  const { topology, workload, inventory, prices } = input;
  const lines = priceMonth({ topology, usage: workload.usage, storage: workload.storage, inventory, prices });
  return {
    lines,
    total: lines.reduce((sum, l) => sum + l.usd, 0),
    byService: totalsBy(lines, (l) => l.service),
    byRegion: totalsBy(lines, (l) => l.region),
    byTier: totalsBy(lines, (l) => l.tier),
  };
}
