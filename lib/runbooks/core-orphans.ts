import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConflictPair } from '../conflict/records.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { aggregateKey, eventSortKey } from '../store/keys.ts';
import type { Orphan } from './orphans.ts';
import type { RegionCell } from './ports.ts';

/** What happened to one core orphan at failback. */
export interface CoreOrphanOutcome {
  readonly eventId: string;
  readonly aggregate: string;
  readonly seq: number;
  /** adopted: the home never wrote that seq, so the orphan was replicated; queued: both versions kept for an operator. */
  readonly outcome: 'adopted' | 'queued';
  readonly kept?: string;
}

/**
 * Settles the core orphans of one aggregate against its current home. An orphan whose seq the home never
 * used is adopted (replayed to the peers through their appliers). One whose seq the home reused after the
 * failover (possible only with `ack: local`) is a fork: both versions go to the manual conflict queue of
 * every region (the record carries both envelopes), and the returning region's log and row are set to the
 * home's, so the regions converge and nothing is dropped silently.
 */
export async function settleCoreOrphans(input: {
  readonly orphans: readonly Orphan[];
  readonly returning: RegionCell;
  readonly home: RegionCell;
  readonly peers: readonly RegionCell[];
}): Promise<CoreOrphanOutcome[]> {
  const first = input.orphans[0]!.event;
  const homeLog = await input.home.events.loadStream(first.aggregateType, first.aggregateId);
  const homeAt = new Map(homeLog.map((e) => [e.seq, e]));
  const outcomes: CoreOrphanOutcome[] = [];
  const adopt: EventEnvelope[] = [];
  const forks: Array<{ orphan: EventEnvelope; kept: EventEnvelope }> = [];
  for (const { event } of [...input.orphans].sort((a, b) => a.event.seq - b.event.seq)) {
    const kept = homeAt.get(event.seq);
    if (!kept && forks.length === 0) adopt.push(event);
    else if (kept && kept.eventId !== event.eventId) forks.push({ orphan: event, kept });
  }
  for (const peer of input.peers) await peer.replay(adopt);
  for (const event of adopt)
    outcomes.push({
      eventId: event.eventId,
      aggregate: `${event.aggregateType}#${event.aggregateId}`,
      seq: event.seq,
      outcome: 'adopted',
    });
  if (forks.length === 0) return outcomes;
  const at = new Date().toISOString();
  for (const { orphan, kept } of forks) {
    const [a, b] = orphan.eventId < kept.eventId ? [orphan, kept] : [kept, orphan];
    const pair: ConflictPair & { kind: string; versions: Record<string, EventEnvelope> } = {
      aggregateType: orphan.aggregateType,
      aggregateId: orphan.aggregateId,
      eventIds: [a.eventId, b.eventId],
      hlcs: [a.hlc, b.hlc],
      origins: [a.origin, b.origin],
      resolvedBy: null,
      kind: 'core-orphan',
      versions: { orphan, kept },
    };
    for (const cell of [input.returning, ...input.peers]) await cell.conflicts.createOpen(pair, at);
    outcomes.push({
      eventId: orphan.eventId,
      aggregate: `${orphan.aggregateType}#${orphan.aggregateId}`,
      seq: orphan.seq,
      outcome: 'queued',
      kept: kept.eventId,
    });
  }
  await adoptHomeLog(input.returning, input.home, forks[0]!.orphan);
  return outcomes;
}

/** Sets the returning region's log of the aggregate from the fork on, and its row, to the home's. */
async function adoptHomeLog(returning: RegionCell, home: RegionCell, fork: EventEnvelope): Promise<void> {
  const { aggregateType, aggregateId } = fork;
  const pk = aggregateKey(aggregateType, aggregateId);
  const local = await returning.events.loadStream(aggregateType, aggregateId);
  const theirs = await home.events.loadStream(aggregateType, aggregateId);
  const theirIds = new Set(theirs.map((e) => e.eventId));
  const { client } = returning.tables;
  for (const event of local.filter((e) => e.seq >= fork.seq && !theirIds.has(e.eventId)))
    await client.send(
      new DeleteCommand({ TableName: returning.tables.events, Key: { pk, sk: eventSortKey('core', event) } }),
    );
  const mine = new Set(local.map((e) => e.eventId));
  const missing = theirs.filter((e) => e.seq >= fork.seq && !mine.has(e.eventId));
  for (const event of missing) await returning.events.appendEvents([event], { tier: 'core' });
  const row = await home.states.getState(aggregateType, aggregateId);
  if (row) await client.send(new PutCommand({ TableName: returning.tables.state, Item: { pk, ...row } }));
}
