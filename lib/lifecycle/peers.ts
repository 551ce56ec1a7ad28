import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { WatermarkStore } from '../replication/watermarks.ts';
import { EventStore } from '../store/event-store.ts';
import type { PeerWatermarks } from './archiver.ts';

export interface PeerTables {
  readonly region: string;
  /** A client of the peer's region. */
  readonly client: DynamoDBDocumentClient;
  /** The peer's replication table (its watermarks: what it applied from each origin). */
  readonly replicationTable: string;
  /** The peer's events table (its log, read strongly). */
  readonly eventsTable: string;
}

/**
 * What the archiver asks a peer, read from the peer's own tables: its watermark from an origin (its
 * replication table, strongly, holds included) and its log of an aggregate (its events table, strongly).
 * A region's own replication table only says what *it* applied, never what a peer applied, so the
 * archiver reads every peer's (cross-region reads, granted to the archiver's role).
 */
export function peerWatermarks(peer: PeerTables): PeerWatermarks {
  const watermarks = new WatermarkStore({ client: peer.client, tableName: peer.replicationTable });
  const events = new EventStore({ client: peer.client, tableName: peer.eventsTable });
  return {
    region: peer.region,
    watermarkFor: (origin) => watermarks.watermarkFor(origin),
    logOf: (type, id) => events.loadStream(type, id, { consistentRead: true }),
  };
}
