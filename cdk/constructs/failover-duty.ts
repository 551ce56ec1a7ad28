import { nearestRegions, peersOf, type Topology } from '../../lib/config/index.ts';

/**
 * The region whose Failover runbook the health-check alarm of `lost` starts: its nearest peer (ties
 * by name, so every stack computes the same answer). Starting it in one region only keeps two
 * runbooks from racing; should that region be down too, more than one region is lost and the
 * runbook's majority check refuses anyway, so an operator starts it by hand.
 */
export function standInFor(topology: Topology, lost: string): string {
  const [nearest] = nearestRegions(topology, lost, peersOf(topology, lost));
  if (!nearest) throw new Error(`region ${lost} has no peers`);
  return nearest;
}

/** Regions whose health-check alarm starts the Failover runbook of `region` (none without autoFailover). */
export function failoverDutiesOf(topology: Topology, region: string): string[] {
  if (!topology.gtm.autoFailover) return [];
  return peersOf(topology, region).filter((lost) => standInFor(topology, lost) === region);
}
