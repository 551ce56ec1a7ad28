import type { EventEnvelope } from '../model/envelope.ts';

/**
 * What a peer answered to a quorum copy:
 * - `stored`: every event is in its log now (some may have been there already: same eventId);
 * - `sealed`: its copy of the partition's entry is past the writer's epoch (a failover collected from it,
 *   or a move went on), so it refuses this writer for good;
 * - `behind`: its log does not hold the first event's predecessor (it lags, or holds another branch there);
 * - `conflict`: another event already holds one of the slots.
 */
export type CopyOutcome =
  | { readonly kind: 'stored' }
  | { readonly kind: 'sealed' }
  | { readonly kind: 'behind' }
  | { readonly kind: 'conflict'; readonly existing: EventEnvelope };

/**
 * Takes a losing branch of a core log out of one region's log into the manual conflict queue, with both
 * envelopes, and rebuilds that region's row from what remains: never a silent delete. The one
 * implementation belongs to the chain module (issue 11, scenarios 2-3: `retireCoreBranch`); until it is
 * wired, a region that holds a losing branch is left as it is (a peer then does not count towards a quorum,
 * see `copyToPeer`).
 */
export type BranchRetirer = (input: {
  /** The region's events from the fork on, in seq order, none of which is on the home's branch. */
  readonly losing: readonly EventEnvelope[];
  /** The winning branch around the fork (the home's events), to name what each losing event lost to. */
  readonly winning: readonly EventEnvelope[];
  /** Why the branch lost, for the conflict record. */
  readonly reason: string;
  /**
   * The quorum copy's writer: each event leaves the log only while the region's copy of the partition map
   * is not past this epoch (as a copy is stored), so a stale writer's retire that runs late (a frozen
   * Lambda thawed, a copy outliving its timeout) cannot take out what a newer home's Failover collected.
   */
  readonly writer?: { readonly epoch: number };
}) => Promise<void>;

/** A peer region's events table as the quorum ack writes to it (port; `dynamoQuorumPeer` is the adapter). */
export interface QuorumPeer {
  readonly region: string;
  /**
   * Stores `events` (one aggregate, consecutive seqs, one command or a catch-up run) in one transaction,
   * only if the peer's entry of the partition is at most `writer.epoch`, its log holds the first event's
   * predecessor (`prev`) and every slot is free or already holds that very event.
   */
  copy(events: readonly EventEnvelope[], writer: { readonly epoch: number }): Promise<CopyOutcome>;
  /** The peer's events of one aggregate from `fromSeq` on, strongly consistent, in seq order. */
  eventsFrom(aggregateType: string, aggregateId: string, fromSeq: number): Promise<EventEnvelope[]>;
  /** Retires a losing branch of the peer's log (see BranchRetirer); absent: such a peer cannot be reconciled. */
  readonly retire?: BranchRetirer;
  /**
   * Deletes `existing` iff it is still that event. Only the bug switch `quorum-cleanup-delete` uses it
   * (the old orphan cleanup that deleted a copy a peer may already have folded).
   */
  discard(existing: EventEnvelope): Promise<void>;
}
