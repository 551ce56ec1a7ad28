import type { ConflictRecordPort } from '../conflict/record-store.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { BranchRetirer } from './quorum-peer.ts';
import { type CoreLogCell, retireCoreBranch } from './retire-branch.ts';

/** A region's manual conflict queue (its replication table's conflict records). */
export interface ConflictQueue {
  readonly region: string;
  readonly conflicts: ConflictRecordPort;
}

/**
 * The quorum paths' BranchRetirer (a peer or a new home holding a losing branch of a core log: a runbook's
 * region cell, or the API's quorum peer) over the chain module's one branch-retire function,
 * `retireCoreBranch`: each losing event is first recorded in the manual conflict queue of every region in
 * `queueIn` (the retiring region always among them), with both envelopes, and only then leaves the log;
 * the region's row is rebuilt from what its log still chains.
 */
export function coreBranchRetirer(
  aggregateOf: (type: string) => AnyAggregate,
  queueIn: readonly ConflictQueue[],
): (cell: CoreLogCell & ConflictQueue) => BranchRetirer {
  return (cell) =>
    async ({ losing, winning, reason, writer }) => {
      const first = losing[0];
      if (!first) return;
      const queues = [cell, ...queueIn.filter((c) => c.region !== cell.region)].map((c) => c.conflicts);
      await retireCoreBranch({
        cell,
        queues,
        aggregate: aggregateOf(first.aggregateType),
        losing,
        winning,
        reason,
        ...(writer ? { writer } : {}),
      });
    };
}
