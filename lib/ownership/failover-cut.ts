import type { DynamoDBDocumentClient, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { putRetryingConflicts } from './dynamodb-replica.ts';
import { partitionKey } from './partition-map.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * A Failover's cut of a lost home's history, one control-table item per partition and lost region in each
 * region it reached (pk = the partition's register key, sk = `CUT#<lost region>`, `epoch` = the epoch of
 * the Failover's fence of that home). The lost home could append only below that epoch; whatever of its
 * core events (origin = the lost region, epoch < the cut's) is not in a region's log when the cut is
 * written there is not in what the Failover took from that region: the new home's history supersedes it.
 * The replication applier refuses such an event (`cutGuard`, in its append's own transaction) instead of
 * forking the region from its home. A separate item, not a field of the register value: every later
 * change of the entry (a Switchover, an operator fence, a contention resolve) keeps it, and two Failovers
 * of different regions keep one cut each. Only ever raised (a re-run, a later Failover of the same region).
 */
export interface FailoverCut {
  readonly partition: number;
  /** The lost home. */
  readonly region: string;
  /** The Failover's fence epoch: the lost home's core events below it are cut. */
  readonly epoch: number;
}

export const CUT_SORT_KEY_PREFIX = 'CUT#';

/** The control-table key of a cut. */
export function cutKey(partition: number, region: string): { pk: string; sk: string } {
  return { pk: partitionKey(partition), sk: `${CUT_SORT_KEY_PREFIX}${region}` };
}

/**
 * A transaction item that holds unless a Failover cut `event.origin`'s history of `event.partition` past
 * `event.epoch` in this region (see FailoverCut).
 */
export function cutGuard(
  controlTable: string,
  event: { readonly partition: number; readonly origin: string; readonly epoch: number },
): TransactItem {
  return {
    ConditionCheck: {
      TableName: controlTable,
      Key: cutKey(event.partition, event.origin),
      ConditionExpression: 'attribute_not_exists(pk) OR epoch <= :epoch',
      ExpressionAttributeValues: { ':epoch': event.epoch },
    },
  };
}

/**
 * Writes cuts into one region's control table (each only raised, never lowered): per cut, true when the
 * region holds it now (stored, or already cut as far), false when its write failed (a busy item, the
 * region unreachable). Per cut, not per region: one busy partition must not un-cut the others.
 */
export async function writeCuts(
  target: { readonly client: DynamoDBDocumentClient; readonly control: string },
  cuts: readonly FailoverCut[],
  at: number = Date.now(),
): Promise<boolean[]> {
  return Promise.all(cuts.map((cut) => writeCut(target, cut, at)));
}

async function writeCut(
  target: { readonly client: DynamoDBDocumentClient; readonly control: string },
  cut: FailoverCut,
  at: number,
): Promise<boolean> {
  // Stored, or refused because the region is already cut as far: it holds the cut either way. A busy item
  // (TransactionConflict past the tries) or an unreachable region: not held.
  return putRetryingConflicts(target.client, {
    TableName: target.control,
    Item: { ...cutKey(cut.partition, cut.region), epoch: cut.epoch, cutAt: at },
    ConditionExpression: 'attribute_not_exists(pk) OR epoch < :epoch',
    ExpressionAttributeValues: { ':epoch': cut.epoch },
  }).then(
    () => true,
    () => false,
  );
}
