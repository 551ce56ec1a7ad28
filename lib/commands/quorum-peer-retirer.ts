import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictRecordStore } from '../conflict/record-store.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import { SnapshotStore } from '../lifecycle/snapshot-store.ts';
import type { AggregateRegistry } from '../model/registry.ts';
import { EventStore } from '../store/event-store.ts';
import { StateStore } from '../store/state-store.ts';
import { resolveTableName, type TableName } from '../store/table-name.ts';
import { coreBranchRetirer } from './branch-retirer.ts';
import type { BranchRetirer } from './quorum-peer.ts';

/** One region's tables as the API reaches them: its client and the names a retire touches. */
export interface RetireRegion {
  readonly region: string;
  readonly client: DynamoDBDocumentClient;
  readonly tables: {
    readonly events: TableName;
    readonly state: TableName;
    readonly replication: TableName;
    /** Its copy of the partition map: each delete is guarded by the seal check against the copy's writer. */
    readonly control: TableName;
    /**
     * Its snapshots (a former home that archived keeps them): the row a retire leaves is folded from one at
     * or above the log's archived stubs. Without it (or `archive`), a retire over stubs is refused
     * (HistoryIncompleteError), never folded from seq 1.
     */
    readonly snapshots?: TableName;
  };
  /** Its archive: the payloads of its log's archived stubs when no snapshot covers them. */
  readonly archive?: ArchiveStore;
}

export interface QuorumPeerRetirerOptions {
  readonly registry: AggregateRegistry;
  /** The peer whose log holds the losing branch. */
  readonly peer: RetireRegion;
  /** The writing region: its conflict queue gets a record of every retired event too. */
  readonly local: Pick<RetireRegion, 'region' | 'client'> & {
    readonly tables: Pick<RetireRegion['tables'], 'replication'>;
  };
}

/**
 * The BranchRetirer of the API's quorum peer (`dynamoQuorumPeer`'s `retire`): `coreBranchRetirer` over the
 * peer's events and state tables, queueing each losing event in the peer's and the writer's conflict queues.
 * `copyToPeer` calls it only for a branch written entirely in epochs before the writer's.
 */
export function quorumPeerRetirer(options: QuorumPeerRetirerOptions): BranchRetirer {
  const { peer, local, registry } = options;
  const conflicts = (client: DynamoDBDocumentClient, tableName: TableName) =>
    new ConflictRecordStore({ client, tableName });
  const retirerOf = coreBranchRetirer(
    (type) => registry.get(type),
    [{ region: local.region, conflicts: conflicts(local.client, local.tables.replication) }],
  );
  const events = new EventStore({ client: peer.client, tableName: peer.tables.events });
  const states = new StateStore({ client: peer.client, tableName: peer.tables.state });
  const peerConflicts = conflicts(peer.client, peer.tables.replication);
  const snapshots =
    peer.tables.snapshots === undefined
      ? undefined
      : new SnapshotStore({ client: peer.client, tableName: peer.tables.snapshots });
  // The raw table names are resolved at each retire (a name may be a late-bound function).
  return (input) =>
    retirerOf({
      region: peer.region,
      events,
      states,
      conflicts: peerConflicts,
      snapshots,
      archive: peer.archive,
      tables: {
        client: peer.client,
        events: resolveTableName(peer.tables.events),
        control: resolveTableName(peer.tables.control),
      },
    })(input);
}
