import type { BranchRetirer } from '../commands/quorum-peer.ts';
import { retireCoreBranch } from '../commands/retire-branch.ts';
import type { AnyAggregate } from '../model/aggregate.ts';
import type { RegionCell } from './ports.ts';

/**
 * The quorum paths' BranchRetirer (a peer or a new home holding a losing branch of a core log) over the
 * chain module's one branch-retire function, `retireCoreBranch`: each losing event is first recorded in the
 * manual conflict queue of every region in `queueIn` (the retiring region always among them), with both
 * envelopes, and only then leaves the log; the region's row is rebuilt from what its log still chains.
 */
export function coreBranchRetirer(
  aggregateOf: (type: string) => AnyAggregate,
  queueIn: readonly RegionCell[],
): (cell: RegionCell) => BranchRetirer {
  return (cell) =>
    async ({ losing, winning, reason }) => {
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
      });
    };
}
