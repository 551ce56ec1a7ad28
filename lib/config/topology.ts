import type { AggregateConfig, Topology } from './schema.ts';

/** Region names in configuration order. */
export function regionNames(topology: Topology): string[] {
  return topology.regions.map((r) => r.name);
}

/** Every configured region except `region`. */
export function peersOf(topology: Topology, region: string): string[] {
  return regionNames(topology).filter((name) => name !== region);
}

/** One-way latency between two regions from the latency table (0 for the same region, 100 when unknown). */
export function latencyBetween(topology: Topology, a: string, b: string): number {
  if (a === b) return 0;
  return topology.latencyMs[`${a}|${b}`] ?? topology.latencyMs[`${b}|${a}`] ?? 100;
}

/** Regions ordered nearest first from `from` (ties by name, so the order is the same everywhere). */
export function nearestRegions(
  topology: Topology,
  from: string,
  candidates = regionNames(topology),
): string[] {
  return [...candidates].sort(
    (a, b) => latencyBetween(topology, from, a) - latencyBetween(topology, from, b) || a.localeCompare(b),
  );
}

/** The configuration of one aggregate type, or undefined when it is not configured. */
export function aggregateConfig(topology: Topology, type: string): AggregateConfig | undefined {
  return topology.aggregates.find((a) => a.type === type);
}

/** The smallest number of regions that is a majority. */
export function majorityOf(topology: Topology): number {
  return Math.floor(topology.regions.length / 2) + 1;
}

/**
 * Where `region`'s recovery points are copied: `tables.backup.copyTo` when it names another region, else
 * the next region of the topology (the last copies to the first), so no region copies to itself.
 */
export function backupCopyRegion(topology: Topology, region: string): string {
  const copyTo = topology.tables.backup?.copyTo;
  if (copyTo !== undefined && copyTo !== region) return copyTo;
  const names = regionNames(topology);
  return names[(names.indexOf(region) + 1) % names.length] as string;
}
