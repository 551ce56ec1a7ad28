import { bugEnabled } from '../faults/switches.ts';
import { readArchivedEvents } from '../lifecycle/archive.ts';
import type { ArchiveStore } from '../lifecycle/archive-store.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { isArchivedStub } from '../store/archived-stub.ts';
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
  /**
   * Whole copies of home events the home's log holds only as archived stubs (its archive); absent or
   * missing one: a peer that lacks such an event is refused (`PeerRefusedError` 'archived') and does not
   * count toward the quorum. A stub is never sent.
   */
  readonly whole?: WholeCopies;
}

/** The whole copies (payload included) of the given archived stubs that a store holds; the others left out. */
export type WholeCopies = (stubs: readonly EventEnvelope[]) => Promise<EventEnvelope[]>;

/** Whole copies read from a region's archive (none without one). */
export function wholeFromArchive(archive: ArchiveStore | undefined): WholeCopies | undefined {
  if (!archive) return undefined;
  return async (stubs) => {
    if (stubs.length === 0) return [];
    const first = stubs[0]!;
    const wanted = new Set(stubs.map((e) => e.eventId));
    // Only the objects whose seq range covers a stub: one GET per stub's object, not per archived day.
    const archived = await readArchivedEvents(archive, first.aggregateType, first.aggregateId, {
      seqs: stubs.map((e) => e.seq),
    });
    return archived.filter((e) => wanted.has(e.eventId) && !isArchivedStub(e));
  };
}

/**
 * Copies a run of the home's log to one peer, as Raft's AppendEntries does: the peer stores it only on top
 * of the home's predecessor. A peer that lags first gets the home's events it lacks; one that holds another
 * branch (a failed-over home's uncommitted copies) has that branch retired into its conflict queue
 * (`QuorumPeer.retire`, never deleted) and then gets the home's. Throws when the peer is sealed against this
 * writer, holds another branch and cannot retire it, keeps refusing, or lacks an event the home holds only
 * as an archived stub that `whole` cannot give (never sent as a stub).
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
  const sent = bugEnabled('quorum-copy-sends-stubs') ? missing : await wholeCopies(input, missing);
  for (let i = 0; i < sent.length; i += COPY_CHUNK) {
    const outcome = await peer.copy(sent.slice(i, i + COPY_CHUNK), { epoch });
    if (outcome.kind === 'behind' && i === 0 && from > 1) return false;
    if (outcome.kind !== 'stored') throw new PeerRefusedError(peer.region, outcome.kind);
  }
  return true;
}

/**
 * The events to send, each whole: the home's archived stubs replaced by their archived copies
 * (`PeerCopy.whole`); one that has none refuses this peer (it is not counted toward the quorum) rather
 * than put an event without its payload into its log.
 */
async function wholeCopies(input: PeerCopy, events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
  const stubs = events.filter(isArchivedStub);
  if (stubs.length === 0) return [...events];
  const copies = new Map((await (input.whole?.(stubs) ?? Promise.resolve([]))).map((e) => [e.eventId, e]));
  return events.map((e) => {
    if (!isArchivedStub(e)) return e;
    const copy = copies.get(e.eventId);
    if (!copy) throw new PeerRefusedError(input.peer.region, 'archived');
    return copy;
  });
}
