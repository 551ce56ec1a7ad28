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
  readonly type: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Stored in sequence order (core) rather than HLC order. */
  readonly core: boolean;
  /** HLC of the event the writer had folded last (core: the predecessor in the log), null for a first event. */
  readonly prev: string | null;
  /** The command that caused the event: the client's idempotency key when it sent one (the chaos op id). */
  readonly causationId?: string;
}

/** A conflict record as read back (manual queue), with the envelopes it keeps when it keeps them. */
export interface StoredConflict {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly eventIds: readonly string[];
  readonly status: string;
  /** `core-orphan` / `core-branch`: the losing side of a core fork (both versions kept); absent for important-tier pairs. */
  readonly kind?: string;
  /** The events the record keeps (a core orphan's record keeps both versions). */
  readonly events: readonly StoredEvent[];
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
  /** Conflict records (the manual queue and resolved pairs); empty when none was read. */
  readonly conflicts?: readonly StoredConflict[];
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

function toEvent(item: Record<string, unknown>, core = String(item.sk).startsWith('SEQ#')): StoredEvent {
  return {
    eventId: String(item.eventId),
    aggregateType: String(item.aggregateType),
    aggregateId: String(item.aggregateId),
    partition: Number(item.partition),
    seq: Number(item.seq),
    epoch: Number(item.epoch),
    origin: String(item.origin),
    hlc: String(item.hlc),
    type: String(item.type),
    payload: (item.payload ?? {}) as Record<string, unknown>,
    core,
    prev: str(item.prev) ?? null,
    ...(str(item.causationId) ? { causationId: str(item.causationId) } : {}),
  };
}

/** A conflict record item (pk `CONFLICT#...`); a core orphan's record keeps both envelopes in `versions`. */
function toConflict(item: Record<string, unknown>): StoredConflict {
  const versions = (item.versions ?? {}) as Record<string, Record<string, unknown>>;
  const kind = str(item.kind);
  return {
    aggregateType: String(item.aggregateType),
    aggregateId: String(item.aggregateId),
    eventIds: Array.isArray(item.eventIds) ? item.eventIds.map(String) : [],
    status: String(item.status),
    ...(kind ? { kind } : {}),
    events: Object.values(versions)
      .filter((v) => v && typeof v === 'object' && typeof v.eventId === 'string')
      .map((v) => toEvent(v, kind?.startsWith('core') ?? false)),
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
    events: events.filter((e) => e.eventId && e.aggregateType !== HEARTBEAT_AGGREGATE).map((e) => toEvent(e)),
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
    conflicts: replication.filter((r) => String(r.pk).startsWith('CONFLICT#')).map(toConflict),
  };
}
