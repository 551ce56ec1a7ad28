import { ulid } from 'ulid';
import { signedDetail } from '../../auth/index.ts';
import { probeHealth } from '../../detection/health-probe.ts';
import { pastRetention } from '../../lifecycle/index.ts';
import type { EventEnvelope } from '../../model/index.ts';
import { DynamoPartitionSource, type PartitionEventSource } from '../../repair/index.ts';
import { chunkEntries, DEFAULT_MAX_ENTRY_BYTES, lagMs, toBusEntry } from '../../replication/index.ts';
import { setRegionTraffic } from '../../resilience/index.ts';
import { createRunbookDispatcher, type RegionCell, type RunbookDeps } from '../../runbooks/index.ts';
import type { EventBridgeEvent } from '../eventbridge/index.ts';
import type { RunbookHandler } from '../state-machines/runbook-port.ts';
import type { RunbookFactory, SandboxRegion } from './region.ts';

/**
 * The replication event the bus would deliver for an envelope (what the applier handler receives),
 * signed with the environment's internal key as a replay's PutEvents entry is.
 */
function busEvent(region: string, envelope: EventEnvelope, key: Uint8Array): EventBridgeEvent {
  return {
    version: '0',
    id: ulid(),
    'detail-type': envelope.type,
    source: 'multiactive.replication',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: [],
    detail: signedDetail(envelope, key) as unknown as Record<string, unknown>,
  };
}

/** `target`'s cell as seen from `from`: every read and replay crosses the WAN link between them. */
function cellOf(from: SandboxRegion, target: SandboxRegion): RegionCell {
  const wan = from.options.wan;
  const cross = <T>(fn: () => Promise<T>): Promise<T> =>
    from === target
      ? fn()
      : wan.send(from.name, target.name, fn).then((v) => wan.send(target.name, from.name, () => v));
  const local = new DynamoPartitionSource({
    client: target.clients.doc,
    tableName: target.stores.tables.events,
    stateTableName: target.stores.tables.state,
    pastRetention: pastRetention(target.options.topology, Date.now),
  });
  const source: PartitionEventSource = {
    listLeaves: (partition) => cross(() => local.listLeaves(partition)),
    listRows: (keys) => cross(() => local.listRows(keys)),
    getEvents: (partition, ids) => cross(() => local.getEvents(partition, ids)),
    activePartitions: () => cross(() => local.activePartitions()),
  };
  const { tables } = target.stores;
  return {
    region: target.name,
    source,
    async replay(events) {
      // In AWS a replay is PutEvents (in calls of 10) of events signed with the internal key (the runbook
      // reads its region's replica) onto the receiving region's bus, by the runbook's role; the bus hands
      // them to its applier. The sandbox authorizes those calls, then applies directly.
      const key = await from.internalKey();
      const entries = events.map((event) => ({ entry: toBusEntry(event, target.bus.name, key) }));
      for (const chunk of chunkEntries(entries, { maxBytes: DEFAULT_MAX_ENTRY_BYTES }))
        await from.functionIam.putEvents(
          target.bus.arn,
          chunk.map((c) => c.entry),
        );
      await cross(async () => {
        for (const event of events) await target.functions.applier(busEvent(target.name, event, key));
      });
    },
    watermarks: () => cross(() => target.stores.watermarks.list()),
    events: target.stores.events,
    states: target.stores.states,
    snapshots: target.stores.snapshots,
    // The target's bucket (its local directory), read as the runbook's role (every region's, as granted).
    ...(target.stores.archive ? { archive: target.stores.archive } : {}),
    conflicts: target.stores.conflicts,
    tables: {
      client: target.clients.doc,
      events: tables.events,
      state: tables.state,
      replication: tables.replication,
      control: tables.control,
    },
  };
}

/** Runbook deps of one sandbox region over every region of the sandbox. */
export function sandboxRunbookDeps(region: SandboxRegion, all: readonly SandboxRegion[]): RunbookDeps {
  const byName = (name: string) => {
    const found = all.find((r) => r.name === name);
    if (!found) throw new Error(`no sandbox region ${name}`);
    return found;
  };
  const { wan, timing, topology, registry } = region.options;
  const map = region.multiRegion.map;
  return {
    region: region.name,
    topology,
    registry,
    map,
    register: map.register,
    cell: (name) => cellOf(region, byName(name)),
    async observe(observer, target) {
      const watcher = byName(observer);
      const ask = async () => {
        // Serving or deliberately drained; a gray failure (answers, cannot write) counts as lost.
        const reachable = await wan
          .send(observer, target, () => probeHealth(`${byName(target).apiUrl}/health`, { timeoutMs: 1_000 }))
          .then((probe) => probe.verdict !== 'down')
          .catch(() => false);
        const mark = (await watcher.stores.watermarks.list()).find((w) => w.origin === target);
        return { reachable, heartbeatAgeMs: lagMs(watcher.wallClock.now(), mark) };
      };
      if (observer === region.name) return ask();
      // The question travels to the observer and its answer travels back: a round trip.
      const answer = await wan.send(region.name, observer, ask);
      return wan.send(observer, region.name, () => answer);
    },
    async setTraffic(name, state, reason) {
      await setRegionTraffic(map.register, name, state, reason);
      byName(name).drained = state === 'drained';
    },
    staleHeartbeatMs: 2 * timing.heartbeatIntervalMs,
    // The runbook function runs in this region: its lease arithmetic reads the region's wall clock.
    now: region.wallClock.now,
  };
}

/** The sandbox's runbook factory: each region's runbook function runs the real tasks (lib/runbooks). */
export function sandboxRunbooks(regions: () => readonly SandboxRegion[]): RunbookFactory {
  return (region) => {
    let run: ReturnType<typeof createRunbookDispatcher> | undefined;
    const handler: RunbookHandler = (request) => {
      run ??= createRunbookDispatcher(sandboxRunbookDeps(region, regions()));
      return run(request);
    };
    return handler;
  };
}
