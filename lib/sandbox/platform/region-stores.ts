import { HybridLogicalClock } from '../../clock/index.ts';
import type { Topology } from '../../config/index.ts';
import { ConflictRecordStore } from '../../conflict/index.ts';
import { type ArchiveStore, SnapshotStore } from '../../lifecycle/index.ts';
import {
  DynamoPublishHolds,
  HeartbeatWriter,
  ParkingStore,
  QuarantineStore,
  WatermarkStore,
} from '../../replication/index.ts';
import { EventStore, StateStore, type TableKind, tableNames } from '../../store/index.ts';
import type { LocalClients } from '../dynamodb/clients.ts';
import type { SkewableClock } from './skewable-clock.ts';

/** Every store of one region's cell, built over that region's DynamoDB Local. */
export interface RegionStores {
  readonly tables: Record<TableKind, string>;
  readonly clock: HybridLogicalClock;
  readonly events: EventStore;
  readonly states: StateStore;
  readonly watermarks: WatermarkStore;
  readonly parking: ParkingStore;
  readonly quarantine: QuarantineStore;
  readonly conflicts: ConflictRecordStore;
  readonly heartbeats: HeartbeatWriter;
  /** Events the publisher has not managed to publish (announced by the heartbeats). */
  readonly holds: DynamoPublishHolds;
  /** Snapshots of core aggregates, written by the home (lib/lifecycle). */
  readonly snapshots: SnapshotStore;
  /** The region's retention archive (a local directory for its bucket), when some type has a retention. */
  readonly archive?: ArchiveStore;
}

/** The stores a cell's handlers use, as `functions/shared/environment.ts` builds them in Lambda. */
export function regionStores(
  clients: LocalClients,
  topology: Topology,
  region: string,
  extras: {
    /** The region's skewable wall clock (chaos), under its HLC. */
    readonly wallClock?: SkewableClock;
    /** The region's retention archive (with a retention only). */
    readonly archive?: ArchiveStore | undefined;
  } = {},
): RegionStores {
  const { wallClock, archive } = extras;
  const tables = tableNames(topology.name);
  const client = clients.doc;
  return {
    tables,
    // One clock per region (API, applier and heartbeats): in Lambda each container has its own, all
    // stamping for the same region. `wallClock` lets the chaos nemesis skew the region's clock.
    clock: new HybridLogicalClock({
      region,
      maxDriftMs: topology.thresholds.maxDriftMs,
      ...(wallClock ? { wallClock: wallClock.now } : {}),
    }),
    events: new EventStore({
      client,
      tableName: tables.events,
      coreMarkerTableName: tables.replication,
      maxEventBytes: topology.thresholds.maxEventBytes,
    }),
    states: new StateStore({ client, tableName: tables.state }),
    watermarks: new WatermarkStore({ client, tableName: tables.replication }),
    parking: new ParkingStore({ client, tableName: tables.replication }),
    quarantine: new QuarantineStore({ client, tableName: tables.quarantine }),
    conflicts: new ConflictRecordStore({ client, tableName: tables.replication }),
    heartbeats: new HeartbeatWriter({ client, tableName: tables.events }),
    holds: new DynamoPublishHolds({ client, tableName: tables.replication }),
    snapshots: new SnapshotStore({ client, tableName: tables.snapshots }),
    ...(archive ? { archive } : {}),
  };
}
