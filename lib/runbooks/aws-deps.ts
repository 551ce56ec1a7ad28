import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { InternalKey } from '../auth/internal-key.ts';
import type { Topology } from '../config/schema.ts';
import { regionNames } from '../config/topology.ts';
import { ConflictRecordStore } from '../conflict/record-store.ts';
import { probeHealth } from '../detection/health-probe.ts';
import { staleHeartbeatMs } from '../detection/settings.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import { pastRetention } from '../lifecycle/retention.ts';
import { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { PartitionMap } from '../ownership/partition-map.ts';
import { QuorumRegister } from '../ownership/quorum-register.ts';
import { DynamoPartitionSource } from '../repair/partition-source.ts';
import { chunkEntries, DEFAULT_MAX_ENTRY_BYTES, toBusEntry } from '../replication/entries.ts';
import { eventBridgeBus } from '../replication/eventbridge.ts';
import { lagMs, WatermarkStore } from '../replication/watermarks.ts';
import { setRegionTraffic } from '../resilience/traffic-breaker.ts';
import { EventStore } from '../store/event-store.ts';
import { StateStore } from '../store/state-store.ts';
import { tableNames } from '../store/tables.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

export interface AwsRunbookDepsOptions {
  readonly region: string;
  readonly topology: Topology;
  readonly registry: AggregateRegistry;
  /** Replication bus name (the same in every region); replays go to the target region's bus. */
  readonly busName: string;
  /** REGION_ENDPOINTS: each region's API base URL, for health probes. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** The environment's internal key: replayed events are signed with it, as the publisher signs. */
  readonly eventKey?: InternalKey;
  /**
   * Each region's retention archive (`s3RegionArchives`): a retire or row rebuild over a log holding
   * archived stubs folds from it when no snapshot covers them. None: such a fold is refused.
   */
  readonly archiveOf?: (region: string) => ArchiveStore | undefined;
}

/** Runbook deps in Lambda: a DynamoDB and EventBridge client per region, tables named as in every region. */
export function awsRunbookDeps(options: AwsRunbookDepsOptions): RunbookDeps {
  const tables = tableNames(options.topology.name);
  const docs = new Map(
    regionNames(options.topology).map((r) => [
      r,
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: r }), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    ]),
  );
  const doc = (r: string) => {
    const client = docs.get(r);
    if (!client) throw new Error(`unknown region ${r}`);
    return client;
  };
  const register = new QuorumRegister({
    replicas: regionNames(options.topology).map(
      (r) => new DynamoControlReplica({ region: r, client: doc(r), tableName: tables.control }),
    ),
    callTimeoutMs: options.topology.routing.forwardTimeoutMs,
  });
  // The same lease and margin as the API's map: the hold an unfence sets must cover the homes' leases.
  const { leaseMs, skewMarginMs } = options.topology.fencing;
  const map = new PartitionMap({ register, leaseMs, skewMarginMs });
  const cell = (r: string): RegionCell => {
    const client = doc(r);
    const bus = eventBridgeBus({ client: new EventBridgeClient({ region: r }) });
    const watermarks = new WatermarkStore({ client, tableName: tables.replication });
    const archive = options.archiveOf?.(r);
    return {
      region: r,
      ...(archive ? { archive } : {}),
      source: new DynamoPartitionSource({
        client,
        tableName: tables.events,
        stateTableName: tables.state,
        pastRetention: pastRetention(options.topology, Date.now),
      }),
      async replay(events) {
        const key = options.eventKey ? await options.eventKey() : undefined;
        const items = events.map((e) => ({ entry: toBusEntry(e, options.busName, key) }));
        for (const chunk of chunkEntries(items, { maxBytes: DEFAULT_MAX_ENTRY_BYTES }))
          await bus.putEvents(chunk.map((c) => c.entry));
      },
      watermarks: () => watermarks.list(),
      events: new EventStore({
        client,
        tableName: tables.events,
        coreMarkerTableName: tables.replication,
      }),
      states: new StateStore({ client, tableName: tables.state }),
      snapshots: new SnapshotStore({ client, tableName: tables.snapshots }),
      conflicts: new ConflictRecordStore({ client, tableName: tables.replication }),
      tables: {
        client,
        events: tables.events,
        state: tables.state,
        replication: tables.replication,
        control: tables.control,
      },
    };
  };
  return {
    region: options.region,
    topology: options.topology,
    registry: options.registry,
    map,
    register,
    cell,
    async observe(observer, target) {
      const url = options.endpoints[target];
      // A region that answers but cannot write (a gray failure) is as lost as one that does not answer.
      const reachable = url
        ? (await probeHealth(`${url}/health`, { timeoutMs: 2_000 })).verdict !== 'down'
        : false;
      const mark = (await cell(observer).watermarks()).find((w) => w.origin === target);
      return { reachable, heartbeatAgeMs: lagMs(Date.now(), mark) };
    },
    async setTraffic(region, state, reason) {
      await setRegionTraffic(register, region, state, reason);
    },
    // The watchdogs suspect a region on the same evidence, so a loss they agree on is confirmed here.
    staleHeartbeatMs: staleHeartbeatMs(options.topology.thresholds.heartbeatIntervalMs),
  };
}
