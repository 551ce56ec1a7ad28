import { nearestRegions, peersOf, regionNames, type Topology } from '../config/index.ts';

/**
 * The resources a deployment keeps whatever the load, per regional stack and for the global stack, as the
 * CDK app builds them (`test/cdk/cost-inventory.test.ts` counts them in the synthesized templates). Only
 * some carry a monthly fee (alarms, dashboards, health checks, custom metrics, the hosted zone); the rest
 * are listed so the count can be checked.
 */
export interface RegionInventory {
  readonly region: string;
  /** cdk/constructs/cell-alarms.ts: lag per peer, dead-letter queues, quarantine, function errors, API 5xx. */
  readonly alarms: number;
  readonly dashboards: number;
  /** EMF metrics the functions publish: ReplicationLagMs per peer, QuarantinedEvents, ConflictsDetected. */
  readonly customMetrics: number;
  readonly functions: number;
  readonly tables: number;
  readonly stateMachines: number;
  readonly queues: number;
  readonly rules: number;
}

export interface GlobalInventory {
  /** Route 53 health checks, one per region, with their optional features (cdk/constructs/gtm.ts). */
  readonly healthChecks: number;
  readonly healthCheckFeatures: readonly string[];
  /** Health-check alarms (in us-east-1, where Route 53 metrics are). */
  readonly alarms: number;
  readonly hostedZones: number;
}

/** Regions whose lost-region alarm this region's Failover answers (cdk/constructs/failover-duty.ts). */
function failoverDuties(topology: Topology, region: string): number {
  if (!topology.gtm.autoFailover) return 0;
  return peersOf(topology, region).filter(
    (lost) => nearestRegions(topology, lost, peersOf(topology, lost))[0] === region,
  ).length;
}

/**
 * The fixed resources of a topology.
 * @example inventoryOf(loadTopology('prod')).regions[0].alarms // 12
 */
export function inventoryOf(topology: Topology): { regions: RegionInventory[]; global: GlobalInventory } {
  const names = regionNames(topology);
  const repairRegion = topology.repair.schedule === null ? undefined : (topology.repair.scheduleRegion ?? names[0]);
  const regions = names.map((region): RegionInventory => {
    const peers = names.length - 1;
    const duties = failoverDuties(topology, region);
    const failoverQueue = duties > 0 ? 1 : 0;
    return {
      region,
      alarms: peers + 4 + failoverQueue + 1 + 3 + 1,
      dashboards: 0,
      customMetrics: peers + 2,
      functions: 5,
      tables: 6,
      stateMachines: 5,
      queues: 4 + failoverQueue + (repairRegion === region ? 1 : 0),
      rules: peers + 2 + duties,
    };
  });
  const features = ['HTTPS', 'latency measurement'];
  if (topology.gtm.healthCheck.intervalSeconds === 10) features.push('fast interval (10 s)');
  return {
    regions,
    global: { healthChecks: names.length, healthCheckFeatures: features, alarms: names.length, hostedZones: 1 },
  };
}
