import type { Topology } from '../config/index.ts';
import {
  alternativesFor,
  multiactiveRecovery,
  OPTION_NAMES,
  type OptionId,
  type OptionResult,
} from './alternatives.ts';
import type { PriceList } from './catalog.ts';
import type { Inventory } from './inventory.ts';
import { type MonthlyCost, modelWorkload, monthlyCost } from './model.ts';
import type { TrafficProfile } from './profile.ts';
import { recommendations, type TypeRecommendation } from './recommend.ts';
import type { Runtime } from './runtime.ts';
import { SECONDS_PER_MONTH, SERVICES, type Service } from './usage-types.ts';

/** One option's month for the whole workload, next to the others. */
export interface OptionColumn {
  readonly option: OptionId;
  readonly name: string;
  readonly available: boolean;
  readonly notes: readonly string[];
  readonly byService: Readonly<Partial<Record<Service, number>>>;
  readonly total: number;
  /** RTO/RPO it gives each tier on a region loss. */
  readonly recovery: Readonly<Record<string, { readonly rtoSeconds: number; readonly rpoSeconds: number }>>;
  readonly conflicts: string;
}

/** What `multiactive cost` prints: the month per service, region and tier, the alternatives, the advice. */
export interface CostReport {
  readonly env: string;
  readonly profile: TrafficProfile;
  readonly prices: {
    readonly version: string;
    readonly asOf: string;
    readonly files: readonly string[];
    readonly notice: string;
  };
  readonly cost: MonthlyCost;
  /** Region x service. */
  readonly byRegionService: Readonly<Record<string, Readonly<Partial<Record<Service, number>>>>>;
  readonly options: readonly OptionColumn[];
  readonly recommendations: readonly TypeRecommendation[];
  /** What each saga type of the profile adds to the month, and per saga. */
  readonly sagas: readonly SagaCost[];
}

/**
 * One saga type's share of the month: the month with its sagas less the month without them (their
 * requests, functions, transitions, events, storage and the Repair reading them), and that per saga.
 */
export interface SagaCost {
  readonly saga: string;
  readonly perSecond: number;
  readonly month: number;
  readonly perSaga: number;
  readonly byService: Readonly<Partial<Record<Service, number>>>;
}

function sagaCosts(input: {
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
  inventory: Inventory;
  prices: PriceList;
  cost: MonthlyCost;
}): SagaCost[] {
  const { topology, profile, runtime, inventory, prices, cost } = input;
  return Object.entries(profile.sagas)
    .filter(([, s]) => s.perSecond > 0)
    .map(([saga, s]) => {
      const without = { ...profile, sagas: { ...profile.sagas, [saga]: { ...s, perSecond: 0 } } };
      const workload = modelWorkload(topology, without, runtime, inventory);
      const base = monthlyCost({ topology, workload, inventory, prices });
      const month = cost.total - base.total;
      const byService = Object.fromEntries(
        SERVICES.map((service) => [
          service,
          (cost.byService[service] ?? 0) - (base.byService[service] ?? 0),
        ]).filter(([, usd]) => Math.abs(usd as number) >= 0.005),
      ) as Partial<Record<Service, number>>;
      return {
        saga,
        perSecond: s.perSecond,
        month,
        perSaga: month / (s.perSecond * SECONDS_PER_MONTH),
        byService,
      };
    });
}

const TIERS = ['core', 'important', 'ordinary'] as const;

function byRegionService(cost: MonthlyCost): Record<string, Partial<Record<Service, number>>> {
  const out: Record<string, Partial<Record<Service, number>>> = {};
  for (const line of cost.lines) {
    const row = out[line.region] ?? {};
    row[line.service] = (row[line.service] ?? 0) + line.usd;
    out[line.region] = row;
  }
  return out;
}

/** The alternatives priced on the whole workload, multiactive first. */
function optionColumns(input: {
  topology: Topology;
  profile: TrafficProfile;
  prices: PriceList;
  flows: Parameters<typeof alternativesFor>[0]['flows'];
  cost: MonthlyCost;
}): OptionColumn[] {
  const { topology, cost } = input;
  const types = topology.aggregates.map((a) => a.type);
  const perTier = TIERS.map((tier) => alternativesFor({ ...input, types, tier }));
  const recoveryOf = (
    pick: (tier: (typeof TIERS)[number], i: number) => { rtoSeconds: number; rpoSeconds: number },
  ) => Object.fromEntries(TIERS.map((tier, i) => [tier, pick(tier, i)]));
  const own: OptionColumn = {
    option: 'multiactive',
    name: OPTION_NAMES.multiactive,
    available: true,
    notes: [],
    byService: cost.byService,
    total: cost.total,
    recovery: recoveryOf((tier) => multiactiveRecovery(topology, tier)),
    conflicts: multiactiveRecovery(topology, 'core').conflicts,
  };
  const others = perTier[0]!.map((first, k): OptionColumn => {
    const pick = (result: OptionResult) => ({ rtoSeconds: result.rtoSeconds, rpoSeconds: result.rpoSeconds });
    return {
      option: first.option,
      name: OPTION_NAMES[first.option],
      available: first.available,
      notes: first.notes,
      byService: first.byService,
      total: first.total,
      recovery: recoveryOf((_, i) => pick(perTier[i]![k]!)),
      conflicts: first.conflicts,
    };
  });
  return [own, ...others];
}

/**
 * The month of a topology under a profile at the given prices, with the alternatives and the advice per
 * aggregate type.
 * @example costReport({ topology, profile, runtime: awsRuntime(topology, quotas, sagaShapes(app.sagas)), inventory, prices }).cost.total
 */
export function costReport(input: {
  topology: Topology;
  profile: TrafficProfile;
  runtime: Runtime;
  inventory: Inventory;
  prices: PriceList;
}): CostReport {
  const { topology, profile, runtime, inventory, prices } = input;
  prices.require(topology.regions.map((r) => r.name));
  const workload = modelWorkload(topology, profile, runtime, inventory);
  const cost = monthlyCost({ topology, workload, inventory, prices });
  const context = { topology, profile, prices, flows: workload.flows, cost };
  return {
    env: topology.name,
    profile,
    prices: { version: prices.version, asOf: prices.asOf, files: prices.files, notice: prices.notice },
    cost,
    byRegionService: byRegionService(cost),
    options: optionColumns(context),
    recommendations: recommendations(context),
    sagas: sagaCosts({ topology, profile, runtime, inventory, prices, cost }),
  };
}

/** Services in a stable order, only those with a cost in any of the columns. */
export function servicesOf(columns: ReadonlyArray<Readonly<Partial<Record<Service, number>>>>): Service[] {
  return SERVICES.filter((s) => columns.some((c) => (c[s] ?? 0) > 0));
}
