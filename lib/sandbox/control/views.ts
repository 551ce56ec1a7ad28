import type { ConflictRecord } from '../../conflict/index.ts';
import { readMapView } from '../../ops/partition-view.ts';
import { hotPartitionReport } from '../../ownership/index.ts';
import { type BreakerReport, breakerReport } from '../../resilience/index.ts';
import type { Sandbox } from '../platform/sandbox.ts';

/** The sandbox's state for `sandbox status`, `status` and the console's topology. */
export async function sandboxStatus(sandbox: Sandbox) {
  const names = sandbox.regions.map((r) => r.name);
  const breakers = await Promise.all(
    sandbox.regions.map((r) =>
      r.isDown
        ? undefined
        : breakerReport(r.multiRegion.api.breakers).catch((): BreakerReport | undefined => undefined),
    ),
  );
  const readiness = sandbox.scheduledReadiness();
  return {
    env: sandbox.topology.name,
    version: sandbox.version,
    regions: sandbox.regions.map((r, i) => ({
      region: r.name,
      api: r.apiUrl,
      dynamodb: r.endpoint,
      down: r.isDown,
      healthy: sandbox.gtm.checker.isHealthy(r.name),
      traffic: breakers[i]?.traffic.state,
      breakers: breakers[i]?.breakers,
      degradedPeers: breakers[i]?.degradedPeers ?? [],
      counters: r.functions.counters,
      deadLetters: r.deadLetters.length,
      // The region's scheduled readiness function: its last evaluation and its alarm.
      readiness: readiness.find((x) => x.region === r.name),
    })),
    frontDoor: sandbox.gtm.frontDoorUrl,
    dns: { port: sandbox.gtm.dnsPort, name: sandbox.gtm.dnsName },
    links: sandbox.regions.flatMap((a) =>
      sandbox.regions
        .filter((b) => b !== a)
        .map((b) => ({ from: a.name, to: b.name, ...sandbox.wan.link(a.name, b.name) })),
    ),
    lag: sandbox.lag.links(names),
    executions: sandbox.describeExecutions().slice(0, 20),
  };
}

/** Lag p50/p99 per link over the last minutes, bucketed for a chart. */
export function lagSeries(sandbox: Sandbox, windowMs = 5 * 60_000, bucketMs = 5_000) {
  const names = sandbox.regions.map((r) => r.name);
  return names.flatMap((from) =>
    names
      .filter((to) => to !== from)
      .map((to) => ({ from, to, points: sandbox.lag.series(from, to, { windowMs, bucketMs }) })),
  );
}

/** Open conflicts of every live region, one entry per pair with the regions that hold it open. */
export async function openConflicts(sandbox: Sandbox) {
  const byPair = new Map<string, ConflictRecord & { regions: string[] }>();
  for (const region of sandbox.regions.filter((r) => !r.isDown)) {
    for (const record of await region.stores.conflicts.listOpen()) {
      const key = `${record.aggregateType}#${record.aggregateId}#${record.eventIds.join('#')}`;
      const seen = byPair.get(key) ?? { ...record, regions: [] };
      byPair.set(key, { ...seen, regions: [...seen.regions, region.name] });
    }
  }
  const live = sandbox.regions.filter((r) => !r.isDown);
  // The competing events themselves, so an operator can compare them side by side: each side is looked
  // up in every live region (the two branches start in different regions).
  return Promise.all(
    [...byPair.values()].map(async (record) => {
      const logs = await Promise.all(
        live.map((r) => r.stores.events.loadStream(record.aggregateType, record.aggregateId).catch(() => [])),
      );
      const events = record.eventIds.map((id) => {
        const event = logs.flat().find((e) => e.eventId === id);
        return event
          ? { eventId: id, type: event.type, origin: event.origin, hlc: event.hlc, payload: event.payload }
          : { eventId: id };
      });
      return { ...record, events };
    }),
  );
}

/**
 * Where to run ResolveConflict when the caller names no region: a live region that holds the aggregate's
 * conflict open. Regions detect a conflict one by one as the competing events reach them, so the first
 * live region may not know it yet (ResolveConflict would fail there with ConflictNotFound); the resolution
 * event replicates to the others and closes theirs. Falls back to the first live region, whose
 * ConflictNotFound is then the truthful answer.
 */
export async function conflictRegion(sandbox: Sandbox, input: unknown): Promise<string> {
  const live = sandbox.regions.filter((r) => !r.isDown);
  const target = (input ?? {}) as { aggregateType?: unknown; aggregateId?: unknown };
  for (const region of live) {
    const open = await region.stores.conflicts.listOpen().catch(() => []);
    if (open.some((c) => c.aggregateType === target.aggregateType && c.aggregateId === target.aggregateId))
      return region.name;
  }
  return live[0]?.name ?? '';
}

/** The partition map as every live region stores it, with the hottest partitions flagged. */
export async function partitionMap(sandbox: Sandbox) {
  const live = sandbox.regions.filter((r) => !r.isDown);
  const view = await readMapView(
    live.map((r) => r.controlReplica),
    sandbox.topology.partitions,
    sandbox.regions.length,
  );
  const homes = Object.fromEntries(view.partitions.flatMap((p) => (p.home ? [[p.partition, p.home]] : [])));
  const hot = hotPartitionReport({
    countsByRegion: Object.fromEntries(live.map((r) => [r.name, r.multiRegion.requestCounter.snapshot()])),
    homes,
    top: 5,
  });
  const hottest = new Set(Object.values(hot.hottest).flatMap((list) => list.map((h) => h.partition)));
  return { ...view, hot: [...hottest].sort((a, b) => a - b), suggestions: hot.suggestions };
}
