import { decodeHlc } from '../clock/hlc.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { ConcurrencyError } from '../store/errors.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { QuorumAckError } from './errors.ts';

/** A peer region's events table as the quorum ack writes to it. */
export interface QuorumPeer {
  readonly region: string;
  readonly events: EventStore;
  /** Deletes `existing` (a copy of this region's event) iff it is still that event: see quorumReplicator. */
  discard(existing: EventEnvelope): Promise<void>;
}

export interface QuorumReplicatorOptions {
  readonly region: string;
  /** Peers nearest first; the first that stores the events acknowledges. */
  readonly peers: readonly QuorumPeer[];
  /** This region's events table (to tell an orphan copy from an acknowledged event). */
  readonly local: EventStore;
  /** Per-peer timeout (default 1 s). */
  readonly timeoutMs?: number;
  /** A copy younger than this may belong to a write still in flight here: never discarded (default 10 s). */
  readonly orphanAfterMs?: number;
  readonly now?: () => number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function eventAt(events: EventStore, like: EventEnvelope): Promise<EventEnvelope | undefined> {
  const afterSortKey = eventSortKey('core', { seq: like.seq - 1, hlc: '' });
  for await (const page of events.pages(like.aggregateType, like.aggregateId, { afterSortKey, pageSize: 1 }))
    return page[0]?.seq === like.seq ? page[0] : undefined;
  return undefined;
}

/**
 * `replicateBeforeAck` for `core.ack: 'quorum'`: writes a core write's envelopes into the nearest peer
 * that answers (conditional and idempotent, as the applier would), before the local append; throws
 * QuorumAckError when none does. The local append comes only after a peer copy exists, so an
 * acknowledged core event survives the loss of its home region.
 *
 * Orphans: a copy stored at a peer whose local append then did not happen (no peer answered in time,
 * later ones did; the local append failed, or its fencing guard refused it because a fence landed after
 * the lease check) is an event the client was told failed. The next write of
 * the aggregate here decides the same seq and finds the orphan at that peer: when it is this region's,
 * absent from the local log and older than `orphanAfterMs`, it is deleted (conditionally) and replaced.
 * A younger copy may be a concurrent writer's, so it counts as a concurrency conflict (the command retries).
 * Repair (`healPartition`) never copies a core event back into its own origin under quorum ack: see
 * `lib/runbooks/heal.ts`.
 */
export function quorumReplicator(options: QuorumReplicatorOptions) {
  const timeoutMs = options.timeoutMs ?? 1_000;
  const orphanAfterMs = options.orphanAfterMs ?? 10_000;
  const now = options.now ?? Date.now;
  const isOrphan = async (existing: EventEnvelope): Promise<boolean> =>
    existing.origin === options.region &&
    now() - decodeHlc(existing.hlc).wall >= orphanAfterMs &&
    (await eventAt(options.local, existing))?.eventId !== existing.eventId;
  const writeTo = async (peer: QuorumPeer, envelopes: readonly EventEnvelope[]) => {
    try {
      await peer.events.appendEvents(envelopes, { tier: 'core' });
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      const existing = await eventAt(peer.events, envelopes[0]!);
      if (!existing || !(await isOrphan(existing))) throw error;
      await peer.discard(existing);
      await peer.events.appendEvents(envelopes, { tier: 'core' });
    }
  };
  return async function replicateBeforeAck(envelopes: readonly EventEnvelope[]): Promise<void> {
    if (envelopes.length === 0) return;
    let lastError: unknown;
    for (const peer of options.peers) {
      try {
        await withTimeout(writeTo(peer, envelopes), timeoutMs, `quorum copy to ${peer.region}`);
        return;
      } catch (error) {
        // Our decision is stale (a newer acknowledged event holds the seq): let the command retry.
        if (error instanceof ConcurrencyError) throw error;
        lastError = error;
      }
    }
    const tried = options.peers.map((p) => p.region);
    throw new QuorumAckError(envelopes[0]!.aggregateId, tried, timeoutMs, { cause: lastError });
  };
}
