import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { HEARTBEAT_AGGREGATE } from '../../replication/index.ts';
import type { SandboxRegion } from '../platform/region.ts';

async function userEventIds(
  doc: DynamoDBDocumentClient,
  table: string,
  origin?: string,
): Promise<Set<string>> {
  const ids = new Set<string>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ProjectionExpression: 'eventId, aggregateType, origin',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.aggregateType === HEARTBEAT_AGGREGATE || !item.eventId) continue;
      if (origin === undefined || item.origin === origin) ids.add(String(item.eventId));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return ids;
}

/**
 * Events the lost region wrote that some peer does not have: what failover puts at risk (the RPO).
 * Read with observer privileges: the sandbox can look at a "dead" region's storage, AWS could not.
 */
export async function eventsAtRisk(
  lost: SandboxRegion,
  peers: readonly SandboxRegion[],
): Promise<Set<string>> {
  const written = await userEventIds(lost.clients.doc, lost.stores.tables.events, lost.name);
  const present = await Promise.all(peers.map((p) => userEventIds(p.clients.doc, p.stores.tables.events)));
  return new Set([...written].filter((id) => present.some((ids) => !ids.has(id))));
}

/** The user event ids (heartbeats excluded) a region holds. */
export function userEventIdsOf(region: SandboxRegion): Promise<Set<string>> {
  return userEventIds(region.clients.doc, region.stores.tables.events);
}

/** The `ids` some region still lacks. */
export async function notEverywhere(
  ids: ReadonlySet<string>,
  regions: readonly SandboxRegion[],
): Promise<string[]> {
  const present = await Promise.all(regions.map((r) => userEventIds(r.clients.doc, r.stores.tables.events)));
  return [...ids].filter((id) => !present.every((set) => set.has(id)));
}

/** How many of `ids` every region now has. */
export async function recovered(
  ids: ReadonlySet<string>,
  regions: readonly SandboxRegion[],
): Promise<number> {
  return ids.size - (await notEverywhere(ids, regions)).length;
}
