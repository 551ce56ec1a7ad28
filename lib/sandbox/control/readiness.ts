import { failoverStartMs } from '../../detection/index.ts';
import { readMapView } from '../../ops/partition-view.ts';
import { evaluateReadiness, type ReadinessReport, type ReadinessSnapshot } from '../../ops/readiness.ts';
import { holdMs } from '../../ownership/fencing-budget.ts';
import { peerLagMs } from '../../replication/routing-adapters.ts';
import type { Sandbox } from '../platform/sandbox.ts';
import { sandboxWatchdogSettings } from '../platform/watchdog-wiring.ts';

async function lagLinks(sandbox: Sandbox): Promise<ReadinessSnapshot['lag']> {
  const now = Date.now();
  const names = sandbox.regions.map((r) => r.name);
  const links: Array<{ from: string; to: string; lagMs: number | undefined }> = [];
  for (const to of sandbox.regions) {
    const watermarks = to.isDown ? undefined : await to.stores.watermarks.list().catch(() => undefined);
    for (const from of names.filter((n) => n !== to.name)) {
      const watermark = watermarks?.find((w) => w.origin === from);
      const lag = watermarks ? peerLagMs(now, watermark, sandbox.timing.heartbeatIntervalMs) : null;
      links.push({ from, to: to.name, lagMs: lag ?? undefined });
    }
  }
  return links;
}

async function deadLetters(sandbox: Sandbox): Promise<ReadinessSnapshot['deadLetters']> {
  const queues: Array<{ region: string; queue: string; depth: number }> = [];
  for (const region of sandbox.regions) {
    queues.push({ region: region.name, queue: 'rule dead-letter queue', depth: region.deadLetters.length });
    if (region.isDown) continue;
    const quarantined = await region.stores.quarantine.count().catch(() => 0);
    queues.push({ region: region.name, queue: 'quarantine', depth: quarantined });
  }
  // The templates' failure queues (applier-failures is redriven: its records in flight count too).
  for (const queue of sandbox.queueDepths())
    if (queue.name.endsWith('-applier-failures') || queue.name.endsWith('-dead-letters'))
      queues.push({ region: queue.region, queue: queue.name, depth: queue.visible + queue.inFlight });
  queues.push({ region: 'global', queue: 'rule dead-letter queue', depth: sandbox.globalDeadLetters.length });
  return queues;
}

function lastRepair(sandbox: Sandbox): ReadinessSnapshot['lastRepair'] {
  const repair = sandbox
    .describeExecutions()
    .find((e) => e.stateMachine.endsWith('-Repair') && e.status !== 'RUNNING');
  if (!repair) return undefined;
  const report = (
    repair.output as { report?: { partitionsFailed?: unknown; partitionsFailedCount?: unknown } } | undefined
  )?.report;
  const failed =
    typeof report?.partitionsFailedCount === 'number'
      ? report.partitionsFailedCount
      : report?.partitionsFailed;
  return {
    status: repair.status,
    region: repair.region,
    at: Date.parse(repair.stopDate ?? repair.startDate),
    partitionsFailed: Array.isArray(failed) ? failed.length : typeof failed === 'number' ? failed : undefined,
  };
}

/**
 * Gathers what readiness looks at from a running sandbox. A killed region is what AWS would see of a lost
 * one: no version, no health, no control table, no lag into it.
 */
export async function sandboxReadinessSnapshot(sandbox: Sandbox): Promise<ReadinessSnapshot> {
  const live = sandbox.regions.filter((r) => !r.isDown);
  const { timing, topology } = sandbox;
  const { healthCheck } = topology.gtm;
  // The sandbox's watchdogs: the topology's timers scaled by awsTimeScale, with the sandbox's floors.
  const start = failoverStartMs(topology, sandboxWatchdogSettings(topology, timing));
  return {
    topology,
    timers: {
      healthIntervalSeconds: healthCheck.intervalSeconds * timing.awsTimeScale,
      failureThreshold: healthCheck.failureThreshold,
      failoverStartSeconds: (start.detectionMs + start.decisionMs) / 1000,
      dnsTtlSeconds: 0,
      failoverSeconds: 10,
      holdSeconds: holdMs(timing.fencing) / 1000,
    },
    versions: Object.fromEntries(
      sandbox.regions.map((r) => [r.name, r.isDown ? undefined : sandbox.version]),
    ),
    health: Object.fromEntries(sandbox.regions.map((r) => [r.name, sandbox.gtm.checker.isHealthy(r.name)])),
    lag: await lagLinks(sandbox),
    deadLetters: await deadLetters(sandbox),
    controlReachable: live.map((r) => r.name),
    alarms: sandbox.regions.map((r) => ({
      name: `multiactive-${topology.name}-health-${r.name}`,
      state: sandbox.gtm.checker.isHealthy(r.name) ? 'OK' : 'ALARM',
    })),
    map: await readMapView(
      live.map((r) => r.controlReplica),
      topology.partitions,
      sandbox.regions.length,
    ),
    lastRepair: lastRepair(sandbox),
  };
}

/** Readiness of a running sandbox. */
export async function sandboxReadiness(sandbox: Sandbox): Promise<ReadinessReport> {
  return evaluateReadiness(await sandboxReadinessSnapshot(sandbox));
}
