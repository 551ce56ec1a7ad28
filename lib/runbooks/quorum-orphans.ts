import { catchUpCoreRow } from '../commands/execute.ts';
import { dynamoQuorumPeer } from '../commands/quorum-peer-dynamodb.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';

/** What the repair needs to spot quorum-ack orphans: which aggregate types are core. */
export interface QuorumOrphanRule {
  readonly isCore: (aggregateType: string) => boolean;
  /** The aggregate definition, to fold an adopted event into its origin's row. */
  readonly aggregate: (aggregateType: string) => AnyAggregate;
}

/**
 * Puts an adopted copy into its own origin. The applier refuses an event claiming this region as origin
 * (forged origin), so the event goes straight into the log and the row is caught up from it.
 */
export async function adoptIntoOrigin(
  origin: RegionCell,
  event: EventEnvelope,
  rule: QuorumOrphanRule,
): Promise<void> {
  const aggregate = rule.aggregate(event.aggregateType);
  await origin.events.appendEvents([event], { tier: 'core' });
  await catchUpCoreRow(origin, aggregate, event.aggregateId);
}

/** True when a holder has built on `event`: a later event of the aggregate, or a row that folded it. */
async function builtUpon(holder: RegionCell, event: EventEnvelope): Promise<boolean> {
  const [log, row] = await Promise.all([
    holder.events.loadStream(event.aggregateType, event.aggregateId),
    holder.states.getState(event.aggregateType, event.aggregateId),
  ]);
  return log.some((e) => e.seq > event.seq) || (row?.seq ?? 0) >= event.seq;
}

/**
 * Under `core.ack: 'quorum'` a home copies a core write to a peer before appending it locally; if the
 * local append then did not happen the client got 503, and the peer holds an orphan: a core event that
 * its own origin lacks. Repair must not copy it back into the origin (that would make a refused write
 * appear). Each such orphan that no holder has built on is deleted at its holders and left out of the
 * replay (returned). One a holder built on (the partition failed over to it, which then wrote on top) is
 * history now: it is adopted (into its origin with `adoptIntoOrigin`, elsewhere by the normal replay), so
 * the 503 write does appear (document: after a failover,
 * a 503 from the quorum ack means "outcome unknown").
 */
export async function discardQuorumOrphans(input: {
  readonly cells: readonly RegionCell[];
  /** Per receiving region, the events it lacks (already fetched). */
  readonly lacking: ReadonlyMap<string, readonly EventEnvelope[]>;
  readonly rule: QuorumOrphanRule;
}): Promise<Set<string>> {
  const skip = new Set<string>();
  for (const [region, events] of input.lacking) {
    for (const event of events) {
      if (event.origin !== region || !input.rule.isCore(event.aggregateType) || skip.has(event.eventId))
        continue;
      const holders = input.cells.filter(
        (c) => !(input.lacking.get(c.region) ?? []).some((e) => e.eventId === event.eventId),
      );
      const built = await Promise.all(holders.map((h) => builtUpon(h, event)));
      if (built.some(Boolean)) continue;
      for (const holder of holders) {
        const { client, events, replication, control } = holder.tables;
        const tables = { events, replication, control };
        await dynamoQuorumPeer({ region: holder.region, client, tables }).discard(event);
      }
      skip.add(event.eventId);
    }
  }
  return skip;
}

/** The rule for a runbook's repairs: only under `core.ack: 'quorum'` (spread into replayBuckets/healPartition). */
export function quorumOrphanRule(deps: RunbookDeps): { quorumOrphans?: QuorumOrphanRule } {
  if (deps.topology.core.ack !== 'quorum') return {};
  return {
    quorumOrphans: {
      isCore: (type) => deps.registry.get(type).tier === 'core',
      aggregate: (type) => deps.registry.get(type),
    },
  };
}
