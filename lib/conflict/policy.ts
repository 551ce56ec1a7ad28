import type { ConflictPolicy, Topology } from '../config/schema.ts';
import { aggregateConfig } from '../config/topology.ts';
import type { AnyAggregate } from '../model/aggregate.ts';

/**
 * The conflict policy that governs an aggregate type: the topology's setting, else the aggregate's own
 * declaration, else `lww`. Only the important tier has conflicts; the other tiers fold like `lww`.
 */
export function policyFor(aggregate: AnyAggregate, topology?: Topology): ConflictPolicy {
  if (aggregate.tier !== 'important') return 'lww';
  const configured = topology ? aggregateConfig(topology, aggregate.name)?.conflict : undefined;
  return configured ?? aggregate.conflict?.policy ?? 'lww';
}
