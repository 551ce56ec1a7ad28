import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { HEARTBEAT_AGGREGATE } from '../replication/heartbeat.ts';

/** An event as read back from a region's events table. */
export interface StoredEvent {
  readonly eventId: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly partition: number;
  readonly seq: number;
  readonly epoch: number;
  readonly origin: string;
  readonly hlc: string;
  /** HLC of the event its writer decided on (core: the previous event of its branch; null at seq 1). */
  readonly prev: string | null;
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Stored in sequence order (core) rather than HLC order. */
  readonly core: boolean;
}

/** A projection row as read back (state is the canonical JSON string). */
export interface StoredState {
  readonly version: number;
  readonly head: string;
  readonly state: string;
}

/** A quarantined event as read back. */
export interface StoredQuarantine {
  readonly reason: string;
  readonly message: string;
  readonly eventId?: string;
  readonly origin?: string;
}

/** Everything the checkers read from one region after a run. */
export interface RegionSnapshot {
  readonly region: string;
  readonly events: readonly StoredEvent[];
  /** Projection rows keyed `<aggregateType>#<aggregateId>`. */
  readonly states: ReadonlyMap<string, StoredState>;
  readonly quarantine: readonly StoredQuarantine[];
  /** Core events still parked waiting for a predecessor. */
  readonly parked: number;
  /** Core events taken out of a log into this region's manual conflict queue (full envelopes kept there). */
  readonly queued: readonly StoredEvent[];
}

/** Where a region's tables are. */
export interface SnapshotSource {
  readonly region: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: {
    readonly events: string;
    readonly state: string;
    readonly quarantine: string;
    readonly replication: string;
  };
}

async function scanAll(doc: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function toEvent(item: Record<string, unknown>): StoredEvent {
  return {
    eventId: String(item.eventId),
    aggregateType: String(item.aggregateType),
    aggregateId: String(item.aggregateId),
    partition: Number(item.partition),
    seq: Number(item.seq),
    epoch: Number(item.epoch),
    origin: String(item.origin),
    hlc: String(item.hlc),
    prev: typeof item.prev === 'string' ? item.prev : null,
    type: String(item.type),
    payload: (item.payload ?? {}) as Record<string, unknown>,
    core: String(item.sk).startsWith('SEQ#'),
  };
}

/** Reads one region's events (heartbeats left out), projection rows, quarantine and parking. */
export async function readSnapshot(source: SnapshotSource): Promise<RegionSnapshot> {
  const { doc, tables } = source;
  const [events, rows, quarantine, replication] = await Promise.all([
    scanAll(doc, tables.events),
    scanAll(doc, tables.state),
    scanAll(doc, tables.quarantine),
    scanAll(doc, tables.replication),
  ]);
  return {
    region: source.region,
    events: events.filter((e) => e.eventId && e.aggregateType !== HEARTBEAT_AGGREGATE).map(toEvent),
    states: new Map(
      rows.map((r) => [
        String(r.pk),
        { version: Number(r.version), head: String(r.head), state: String(r.state) },
      ]),
    ),
    quarantine: quarantine
      .filter((q) => typeof q.reason === 'string')
      .map((q) => ({
        reason: String(q.reason),
        message: String(q.message),
        ...(str(q.eventId) ? { eventId: str(q.eventId) } : {}),
        ...(str(q.origin) ? { origin: str(q.origin) } : {}),
      })),
    parked: replication.filter((r) => String(r.pk).startsWith('PARK#') && r.event).length,
    queued: replication.flatMap((r) => {
      const orphan = (r.versions as { orphan?: Record<string, unknown> } | undefined)?.orphan;
      const record = String(r.pk).startsWith('CONFLICT#') && orphan;
      return record ? [toEvent({ ...orphan, sk: 'SEQ#' })] : [];
    }),
  };
}
