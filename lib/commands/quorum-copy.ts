import { bugEnabled } from '../faults/switches.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { PeerDivergedError, PeerRefusedError } from './errors.ts';
import type { BranchRetirer, QuorumPeer } from './quorum-peer.ts';

/** Events per copy transaction (DynamoDB allows 100 items; the checks and the marker take three). */
const COPY_CHUNK = 90;
/** How far back a lagging or diverged peer is compared with the home before the whole log is. */
const COMPARE_WINDOW = 32;

/** The home's events of one aggregate with seq in [fromSeq, toSeq], in seq order (strongly consistent). */
export type HomeLog = (fromSeq: number, toSeq: number) => Promise<EventEnvelope[]>;

export interface PeerCopy {
  readonly peer: QuorumPeer;
  /** Consecutive events at the tail of the home's log (one command, or a run being committed). */
  readonly events: readonly EventEnvelope[];
  /** The writer's epoch: a peer sealed past it refuses (see QuorumPeer.copy). */
  readonly epoch: number;
  readonly home: HomeLog;
}

/**
 * Copies a run of the home's log to one peer, as Raft's AppendEntries does: the peer stores it only on top
 * of the home's predecessor. A peer that lags first gets the home's events it lacks; one that holds another
 * branch (a failed-over home's uncommitted copies) has that branch retired into its conflict queue
 * (`QuorumPeer.retire`, never deleted) and then gets the home's. Throws when the peer is sealed against this
 * writer, holds another branch and cannot retire it, or keeps refusing.
 */
export async function copyToPeer(input: PeerCopy): Promise<void> {
  const { peer, events, epoch } = input;
  const outcome = await peer.copy(events, { epoch });
  if (outcome.kind === 'stored') return;
  if (outcome.kind === 'sealed') throw new PeerRefusedError(peer.region, 'sealed');
  const last = events[events.length - 1]!.seq;
  const from = Math.max(1, events[0]!.seq - COMPARE_WINDOW);
  if (await catchUpPeer(input, from, last)) return;
  if (from > 1 && (await catchUpPeer(input, 1, last))) return;
  throw new PeerRefusedError(peer.region, 'behind');
}

/**
 * Whether this writer may retire the peer's `losing` branch: only a peer with a retirer, and only a branch
 * written entirely in epochs before the writer's. A writer at epoch E became home through a Failover whose
 * collection gathered every acknowledged write of earlier epochs, or a move that waited for them, so an
 * earlier-epoch event off its branch was never acknowledged. An event of epoch E or later is another home's
 * (this writer is the stale one): never retired here (bug switch `quorum-retire-any-epoch` drops the check).
 */
function retirable(
  peer: QuorumPeer,
  losing: readonly EventEnvelope[],
  epoch: number,
): peer is QuorumPeer & { retire: BranchRetirer } {
  if (!peer.retire) return false;
  return bugEnabled('quorum-retire-any-epoch') || losing.every((e) => e.epoch < epoch);
}

/**
 * Compares the peer's log with the home's from `from` to `to`, retires the peer's events that are not on the
 * home's branch and sends the home's events it lacks. False when the difference starts below `from`.
 */
async function catchUpPeer(input: PeerCopy, from: number, to: number): Promise<boolean> {
  const { peer, epoch } = input;
  const first = input.events[0]!;
  const [theirs, before] = await Promise.all([
    peer.eventsFrom(first.aggregateType, first.aggregateId, from),
    input.home(from, first.seq - 1),
  ]);
  const ours = [...before, ...input.events];
  const oursAt = new Map(ours.map((e) => [e.seq, e]));
  if (from > 1 && theirs[0]?.seq !== from) return false;
  const fork = theirs.find((e) => e.seq <= to && oursAt.get(e.seq)?.eventId !== e.eventId);
  if (fork && fork.seq === from && from > 1) return false;
  const losing = fork ? theirs.filter((e) => e.seq >= fork.seq) : [];
  if (losing.length > 0) {
    if (!retirable(peer, losing, epoch))
      throw new PeerDivergedError(peer.region, fork!.aggregateId, fork!.seq);
    await peer.retire({ losing, winning: ours, reason: 'quorum-copy-on-another-branch', writer: { epoch } });
  }
  const kept = new Set(theirs.filter((e) => !losing.includes(e)).map((e) => e.eventId));
  const missing = ours.filter((e) => !kept.has(e.eventId));
  // Nothing left to send (the applier delivered it meanwhile): the copy still counts only once confirmed
  // under the seal and marked for the failover's collection, which `copy` of a stored run does.
  if (missing.length === 0) missing.push(...input.events);
  for (let i = 0; i < missing.length; i += COPY_CHUNK) {
    const outcome = await peer.copy(missing.slice(i, i + COPY_CHUNK), { epoch });
    if (outcome.kind === 'behind' && i === 0 && from > 1) return false;
    if (outcome.kind !== 'stored') throw new PeerRefusedError(peer.region, outcome.kind);
  }
  return true;
}
