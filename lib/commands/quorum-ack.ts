import { decodeHlc } from '../clock/hlc.ts';
import { bugEnabled } from '../faults/switches.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import type { EventStore } from '../store/event-store.ts';
import { eventSortKey } from '../store/keys.ts';
import { QuorumAckError } from './errors.ts';
import { copyToPeer, type HomeLog, wholeFromArchive } from './quorum-copy.ts';
import type { CopyOutcome, QuorumPeer } from './quorum-peer.ts';

export interface QuorumReplicatorOptions {
  readonly region: string;
  /** Every other region, nearest first. */
  readonly peers: readonly QuorumPeer[];
  /** This region's events table (the home's log, which peers that lag are caught up from). */
  readonly local: EventStore;
  /** Per-peer timeout (default 1 s): the copies run in parallel, each bounded on its own. */
  readonly timeoutMs?: number;
  /**
   * This region's archive (lib/lifecycle): a lagging peer lacking events this log holds only as archived
   * stubs gets them whole from it. Absent: such a peer is refused and not counted toward the quorum.
   */
  readonly archive?: ArchiveStore;
  /** Bug switch `quorum-cleanup-delete` only: age from which an orphan copy was deleted (default 10 s). */
  readonly orphanAfterMs?: number;
  readonly now?: () => number;
}

/** What a replicator needs to know of the writer: the epoch its fencing guard holds. */
export interface QuorumWriter {
  readonly epoch: number;
}

/** The smallest number of peers that, with the home, are a majority of all `regions`: 1 of 2, 1 of 3, 2 of 5. */
export function peersNeeded(regions: number): number {
  return Math.floor(regions / 2);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `needed` of the copies succeeded; rejects once that can no longer happen. */
function majority(copies: ReadonlyArray<() => Promise<void>>, needed: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stored = 0;
    let failed = 0;
    const errors: unknown[] = [];
    if (needed === 0) resolve();
    for (const copy of copies) {
      copy().then(
        () => {
          if (++stored === needed) resolve();
        },
        (error: unknown) => {
          errors.push(error);
          if (++failed === copies.length - needed + 1)
            reject(Object.assign(new AggregateError(errors, 'quorum not reached'), { stored }));
        },
      );
    }
  });
}

/**
 * `replicateBeforeAck` for `core.ack: 'quorum'`, called by `executeCommand` once a core write is in the
 * home's own log (its conditional append is the one reservation of that seq in this epoch, so no two
 * events are ever copied for one (epoch, seq), as in Raft). It copies the events to every peer in
 * parallel, each with its own timeout, and returns once a majority of ALL regions holds them (the home
 * and `peersNeeded` peers: 2 of 2, 2 of 3, 3 of 5); else throws QuorumAckError and the client gets 503.
 * A peer stores a copy only on top of the home's predecessor and only while its copy of the partition
 * map is not past the writer's epoch (a failover seals the survivors it collects from), with a marker the
 * failover's collection finds (see `dynamoQuorumPeer`). A lagging peer is caught up from the home's log
 * first; see `copyToPeer`. Nothing is ever deleted.
 */
export function quorumReplicator(options: QuorumReplicatorOptions) {
  const timeoutMs = options.timeoutMs ?? 1_000;
  const regions = options.peers.length + 1;
  return async function replicateBeforeAck(
    envelopes: readonly EventEnvelope[],
    writer?: QuorumWriter,
  ): Promise<void> {
    if (envelopes.length === 0) return;
    const first = envelopes[0]!;
    const epoch = writer?.epoch ?? first.epoch;
    const home: HomeLog = (fromSeq, toSeq) => homeRange(options.local, first, fromSeq, toSeq);
    const whole = options.archive ? { whole: wholeFromArchive(options.archive)! } : {};
    const copyTo = (peer: QuorumPeer) =>
      withTimeout(
        copyToPeer({ peer: legacyCleanup(peer, options), events: envelopes, epoch, home, ...whole }),
        timeoutMs,
        `quorum copy to ${peer.region}`,
      );
    const tried = options.peers.map((p) => p.region);
    if (bugEnabled('single-peer-quorum')) return firstPeer(options.peers, copyTo, first, timeoutMs);
    const needed = peersNeeded(regions);
    try {
      await majority(
        options.peers.map((peer) => () => copyTo(peer)),
        needed,
      );
    } catch (error) {
      const stored = (error as { stored?: number }).stored ?? 0;
      throw new QuorumAckError(first.aggregateId, tried, timeoutMs, { cause: error, stored, needed });
    }
  };
}

/** The home's events of one aggregate in [fromSeq, toSeq] (its own table: strongly consistent). */
async function homeRange(
  local: EventStore,
  like: EventEnvelope,
  fromSeq: number,
  toSeq: number,
): Promise<EventEnvelope[]> {
  const events = await local.loadStream(like.aggregateType, like.aggregateId, {
    afterSortKey: eventSortKey('core', { seq: fromSeq - 1, hlc: '' }),
  });
  return events.filter((e) => e.seq <= toSeq);
}

/** Bug switch `single-peer-quorum`: peers tried one after another, the first that stores acknowledges. */
async function firstPeer(
  peers: readonly QuorumPeer[],
  copyTo: (peer: QuorumPeer) => Promise<void>,
  first: EventEnvelope,
  timeoutMs: number,
): Promise<void> {
  let lastError: unknown;
  for (const peer of peers) {
    try {
      return await copyTo(peer);
    } catch (error) {
      lastError = error;
    }
  }
  throw new QuorumAckError(
    first.aggregateId,
    peers.map((p) => p.region),
    timeoutMs,
    { cause: lastError },
  );
}

/**
 * Bug switch `quorum-cleanup-delete`: the old orphan cleanup. A copy at the peer's slot that is this
 * region's, older than `orphanAfterMs` and absent from the local log was deleted and replaced, although
 * the peer may have folded it already (issue 11, scenario 4). Off: the peer is returned unchanged.
 */
function legacyCleanup(peer: QuorumPeer, options: QuorumReplicatorOptions): QuorumPeer {
  if (!bugEnabled('quorum-cleanup-delete')) return peer;
  const orphanAfterMs = options.orphanAfterMs ?? 10_000;
  const now = options.now ?? Date.now;
  const isOrphan = async (existing: EventEnvelope) =>
    existing.origin === options.region &&
    now() - decodeHlc(existing.hlc).wall >= orphanAfterMs &&
    !(await homeRange(options.local, existing, existing.seq, existing.seq)).some(
      (e) => e.eventId === existing.eventId,
    );
  return {
    ...peer,
    async copy(events, writer): Promise<CopyOutcome> {
      const outcome = await peer.copy(events, writer);
      if (outcome.kind !== 'conflict' || !(await isOrphan(outcome.existing))) return outcome;
      await peer.discard(outcome.existing);
      return peer.copy(events, writer);
    },
  };
}
