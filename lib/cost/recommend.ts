import type { Tier, Topology } from '../config/index.ts';
import {
  alternativesFor,
  multiactiveRecovery,
  OPTION_NAMES,
  type OptionId,
  type OptionResult,
} from './alternatives.ts';
import type { PriceList } from './catalog.ts';
import type { RegionFlow } from './flows.ts';
import type { MonthlyCost } from './model.ts';
import { usd } from './money.ts';
import type { TrafficProfile } from './profile.ts';

/** One aggregate type: what it costs on multiactive, on each alternative, and the option advised. */
export interface TypeRecommendation {
  readonly type: string;
  readonly tier: Tier;
  readonly conflict: string;
  readonly declared: { readonly rtoSeconds: number; readonly rpoSeconds: number };
  /** Multiactive's cost caused by this type (its writes, reads, replication, storage; shared work excluded). */
  readonly multiactive: OptionResult;
  readonly alternatives: readonly OptionResult[];
  /** Options that meet the declared objectives and the tier's write semantics, cheapest first. */
  readonly eligible: readonly OptionId[];
  readonly advice: OptionId;
  readonly reason: string;
}

/** Why an option cannot carry a type, or undefined when it can. */
function refusal(
  option: OptionResult,
  tier: Tier,
  conflict: string,
  declared: TypeRecommendation['declared'],
) {
  if (!option.available) return option.notes[0] ?? 'not available';
  if (option.rtoSeconds > declared.rtoSeconds)
    return `RTO ${option.rtoSeconds} s > declared ${declared.rtoSeconds} s`;
  if (option.rpoSeconds > declared.rpoSeconds)
    return `RPO ${option.rpoSeconds} s > declared ${declared.rpoSeconds} s`;
  if (option.option === 'global-tables-eventual' && tier === 'core')
    return 'core needs one writer: last-writer-wins would silently drop a concurrent write';
  if (option.option === 'global-tables-eventual' && tier === 'important' && conflict !== 'lww')
    return `conflict policy ${conflict} needs the conflicting writes: global tables keep only the last`;
  return undefined;
}

/**
 * Per aggregate type: its multiactive cost next to each alternative for the same traffic, and the cheapest
 * option that meets the type's declared RTO/RPO (topology.objectives of its tier) and its write semantics.
 */
export function recommendations(input: {
  topology: Topology;
  profile: TrafficProfile;
  prices: PriceList;
  flows: readonly RegionFlow[];
  cost: MonthlyCost;
}): TypeRecommendation[] {
  const { topology, cost } = input;
  return topology.aggregates.map((aggregate) => {
    const declared = topology.objectives[aggregate.tier];
    const own = cost.lines.filter((l) => l.aggregateType === aggregate.type);
    const byService: Record<string, number> = {};
    for (const l of own) byService[l.service] = (byService[l.service] ?? 0) + l.usd;
    const multiactive: OptionResult = {
      option: 'multiactive',
      available: true,
      notes: ['its own requests, storage, repair and replication; shared platform costs not included'],
      byService,
      total: own.reduce((s, l) => s + l.usd, 0),
      ...multiactiveRecovery(topology, aggregate.tier),
    };
    const alternatives = alternativesFor({ ...input, types: [aggregate.type], tier: aggregate.tier });
    const all = [multiactive, ...alternatives];
    const refused = new Map(
      all.map((o) => [o.option, refusal(o, aggregate.tier, aggregate.conflict, declared)]),
    );
    const eligible = all.filter((o) => !refused.get(o.option)).sort((a, b) => a.total - b.total);
    const best = eligible[0];
    let advice: OptionId = 'multiactive';
    let reason: string;
    if (!best) {
      reason = `no option meets the declared objectives (RTO ${declared.rtoSeconds} s, RPO ${declared.rpoSeconds} s); multiactive comes closest: ${refused.get('multiactive')}`;
    } else if (best.option === 'multiactive') {
      reason = `keep ${aggregate.tier} on multiactive: the cheapest option that meets RTO ${declared.rtoSeconds} s / RPO ${declared.rpoSeconds} s and its write semantics`;
    } else {
      advice = best.option;
      const single = best.option === 'single-region-backups' || best.option === 'warm-standby';
      reason = `${single ? 'no active-active needed: ' : ''}${OPTION_NAMES[best.option]} meets RTO ${declared.rtoSeconds} s / RPO ${declared.rpoSeconds} s for ${usd(multiactive.total - best.total)} a month less (RTO ${best.rtoSeconds} s, RPO ${best.rpoSeconds} s; conflicts: ${best.conflicts}${single ? '; writes from other regions pay the round trip to the active one' : ''})`;
    }
    return {
      type: aggregate.type,
      tier: aggregate.tier,
      conflict: aggregate.conflict,
      declared,
      multiactive,
      alternatives,
      eligible: eligible.map((o) => o.option),
      advice,
      reason,
    };
  });
}

/** Each option's refusal reason for a type (undefined: eligible), for the report. */
export function refusals(rec: TypeRecommendation): Record<OptionId, string | undefined> {
  const out = {} as Record<OptionId, string | undefined>;
  for (const o of [rec.multiactive, ...rec.alternatives])
    out[o.option] = refusal(o, rec.tier, rec.conflict, rec.declared);
  return out;
}
