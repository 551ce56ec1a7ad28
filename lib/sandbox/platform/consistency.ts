import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { HEARTBEAT_AGGREGATE } from '../../replication/index.ts';

/** One region's tables, as the check reads them (with observer privileges, not over the WAN). */
export interface CheckedRegion {
  readonly name: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { readonly events: string; readonly state: string };
}

/** An aggregate whose projection differs between regions. */
export interface Divergence {
  readonly key: string;
  /** `version head state` per region (null: the region has no row). */
  readonly byRegion: Readonly<Record<string, string | null>>;
}

/** The result of comparing every region's events and state rows. */
export interface ConsistencyReport {
  readonly passed: boolean;
  readonly aggregates: number;
  readonly diverged: Divergence[];
  /** User events (heartbeats excluded) per region. */
  readonly events: Readonly<Record<string, number>>;
  /** Events some region has and another lacks. */
  readonly missingEvents: number;
  readonly verdict: string;
}

async function scanAll(doc: DynamoDBDocumentClient, table: string, projection: string) {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ProjectionExpression: projection,
        ExpressionAttributeNames: { '#s': 'state', '#v': 'version' },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Reads one region: user event ids and a fingerprint of every projection row. */
async function readRegion(region: CheckedRegion) {
  const events = await scanAll(region.doc, region.tables.events, 'eventId, aggregateType, #s, #v');
  const ids = new Set(
    events.filter((e) => e.aggregateType !== HEARTBEAT_AGGREGATE && e.eventId).map((e) => String(e.eventId)),
  );
  const rows = await scanAll(region.doc, region.tables.state, 'pk, #s, #v, head');
  const states = new Map(rows.map((r) => [String(r.pk), `v${r.version} ${r.head} ${r.state}`]));
  return { ids, states };
}

/**
 * Compares every region's projection rows (version, causal head and canonical state must be
 * byte-identical) and event logs (same set of event ids). Passes when nothing differs.
 */
export async function checkConsistency(regions: readonly CheckedRegion[]): Promise<ConsistencyReport> {
  const read = await Promise.all(regions.map(readRegion));
  const keys = new Set(read.flatMap((r) => [...r.states.keys()]));
  const diverged: Divergence[] = [];
  for (const key of [...keys].sort()) {
    const values = read.map((r) => r.states.get(key) ?? null);
    if (values.every((v) => v === values[0])) continue;
    diverged.push({ key, byRegion: Object.fromEntries(regions.map((r, i) => [r.name, values[i] ?? null])) });
  }
  const allIds = new Set(read.flatMap((r) => [...r.ids]));
  let missingEvents = 0;
  for (const id of allIds) if (!read.every((r) => r.ids.has(id))) missingEvents++;
  const passed = diverged.length === 0 && missingEvents === 0;
  const verdict = passed
    ? `PASS: ${keys.size} aggregates identical in ${regions.length} regions, ${allIds.size} events everywhere`
    : `FAIL: ${diverged.length} of ${keys.size} aggregates differ, ${missingEvents} events missing somewhere`;
  return {
    passed,
    aggregates: keys.size,
    diverged,
    events: Object.fromEntries(regions.map((r, i) => [r.name, read[i]?.ids.size ?? 0])),
    missingEvents,
    verdict,
  };
}
