import { bugEnabled } from '../faults/switches.ts';
import { DynamoControlReplica } from '../ownership/dynamodb-replica.ts';
import { type PartitionValue, partitionKey } from '../ownership/partition-map.ts';
import type { RegisterRecord } from '../ownership/register-record.ts';
import type { RegionCell, RunbookDeps } from './ports.ts';
import type { SwitchoverMove } from './switchover-plan.ts';

/**
 * How a switchover knows that the source can no longer commit a core event of the partition:
 * - `own-copy`: the source's own copy of the entry (the item every core append there condition-checks in
 *   its transaction, lib/ownership/fence-guard.ts) carries the fence, read strongly consistently after
 *   the fence committed. DynamoDB serializes that transaction with the write of the copy, so no append
 *   can commit there afterwards, whatever lease the source holds; a log read after this sees its head for
 *   good, and the new home may write at once.
 * - `lease`: the copy could not be confirmed (the source's control table does not answer) but lease +
 *   skew margin have passed since the fence: every lease on an older entry has run out (fencing-budget.ts).
 *   The new home then also waits lease + skew after the unfence, as before.
 * - null: neither yet.
 */
export type SourceFence = 'own-copy' | 'lease' | null;

/** Bound on each call to the source's control table (a blackholed region must not hang the poll). */
const CONFIRM_CALL_TIMEOUT_MS = 1_500;

function bounded<T>(call: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the source did not answer in time')), CONFIRM_CALL_TIMEOUT_MS);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

function replicaOf(cell: RegionCell): DynamoControlReplica {
  return new DynamoControlReplica({
    region: cell.region,
    client: cell.tables.client,
    tableName: cell.tables.control,
  });
}

/**
 * True when a copy of the entry stops `from`'s core appends for `epoch` on: it is at that epoch or later
 * and does not name `from` as an active home (every committed value from the fence on is the run's own:
 * fenced, or homed in the target; an uncommitted proposal naming `from` active does not count).
 */
export function copyFences(record: RegisterRecord<PartitionValue> | null, move: SwitchoverMove): boolean {
  if (!record || record.epoch < move.fencedEpoch) return false;
  return !(record.value.home === move.from && record.value.state === 'active');
}

/**
 * Makes sure the source's own copy carries the fence, then reads it back: a copy the fence's write round
 * did not reach (the quorum needs a majority, not every region) gets the committed entry written back,
 * as a register read-repair would (the replica takes only a higher epoch). Any error or a silent source
 * means no confirmation: the caller falls back to the lease (`lease`).
 */
export async function confirmSourceFence(
  deps: Pick<RunbookDeps, 'map' | 'cell'>,
  move: SwitchoverMove,
  leaseOver: boolean,
): Promise<SourceFence> {
  // Bug switch: the head is trusted as final before the source's copy is known to carry the fence.
  if (bugEnabled('switchover-no-fence-confirm')) return 'own-copy';
  const replica = replicaOf(deps.cell(move.from));
  const key = partitionKey(move.partition);
  try {
    if (copyFences(await bounded(replica.read<PartitionValue>(key)), move)) return 'own-copy';
    const entry = await deps.map.read(move.partition);
    if (entry && entry.epoch >= move.fencedEpoch) {
      const { partition: _p, epoch, ballot, ...value } = entry;
      await bounded(replica.write<PartitionValue>(key, { epoch, ballot, value }));
      if (copyFences(await bounded(replica.read<PartitionValue>(key)), move)) return 'own-copy';
    }
  } catch {
    // The source's control table does not answer: only the lease can tell.
  }
  return leaseOver ? 'lease' : null;
}
