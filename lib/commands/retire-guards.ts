import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ConflictRecordPort } from '../conflict/record-store.ts';
import type { ConflictPair } from '../conflict/records.ts';
import type { EventEnvelope } from '../model/envelope.ts';
import { REGISTER_SORT_KEY } from '../ownership/dynamodb-replica.ts';
import { partitionKey } from '../ownership/partition-map.ts';

type RetireItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The partition's owner as the caller read it (a majority read of the map) before deciding the branch. */
export interface RetireOwner {
  readonly home: string;
  readonly epoch: number;
}

/**
 * The retiring region's copy of the partition entry still names the owner the caller read: not moved past
 * its epoch (a Failover or Switchover since), and at that epoch, the same home. A copy that lags behind the
 * read (a lower epoch) passes: the read was a majority's. Without this, a Failover between the caller's
 * read of the home and the retire has the new home's branch retired as the loser.
 */
export function ownerCheck(control: string, partition: number, owner: RetireOwner): RetireItem {
  return {
    ConditionCheck: {
      TableName: control,
      Key: { pk: partitionKey(partition), sk: REGISTER_SORT_KEY },
      ConditionExpression:
        'attribute_not_exists(pk) OR epoch < :epoch OR (epoch = :epoch AND #v.home = :home)',
      ExpressionAttributeNames: { '#v': 'value' },
      ExpressionAttributeValues: { ':epoch': owner.epoch, ':home': owner.home },
    },
  };
}

/**
 * The events logged above the branch's newest event that chain onto it, each naming the one below as its
 * `prev` (a delivery or the applier wrote them on top of the branch): they go with it. The first event
 * above that does not chain (a winning-branch event of a log joined before, the home's newer events on
 * it), and everything above that one, is never taken: it is not of the losing branch, whatever `winning`
 * (a read made earlier) says. `log` in seq order.
 */
export function chainedAbove(
  log: readonly EventEnvelope[],
  branchTop: EventEnvelope,
  winningIds: ReadonlySet<string>,
): EventEnvelope[] {
  const taken: EventEnvelope[] = [];
  let tip = branchTop;
  for (;;) {
    const next = log.find((e) => e.seq === tip.seq + 1);
    if (!next || next.prev !== tip.hlc || winningIds.has(next.eventId)) return taken;
    taken.push(next);
    tip = next;
  }
}

/** A record one retire created in one queue (createOpen answered true). */
export interface CreatedRecord {
  readonly queue: ConflictRecordPort;
  readonly pair: ConflictPair;
  readonly eventId: string;
}

/**
 * Takes back the open records a retire created for events its region's log still holds (the seal or a move
 * of the home refused it, or it failed): an event that stays in the log is not "retired, lost", and an
 * operator acting on such a record would apply an acknowledged write twice. A record resolved meanwhile
 * stays. Returns the records withdrawn.
 */
export async function withdrawCreated(
  created: readonly CreatedRecord[],
  stillLogged: ReadonlySet<string>,
): Promise<CreatedRecord[]> {
  const withdrawn: CreatedRecord[] = [];
  for (const record of created) {
    if (!stillLogged.has(record.eventId) || !record.queue.withdrawOpen) continue;
    if (await record.queue.withdrawOpen(record.pair)) withdrawn.push(record);
  }
  return withdrawn;
}

/**
 * Puts back the records `withdrawCreated` took for events that have left the log since (`logged`: the log
 * read after the withdrawal): a concurrent retire of the same branch found them there, relied on them and
 * deleted the event meanwhile. An event out of every log keeps its record in every queue.
 */
export async function restoreWithdrawn(
  withdrawn: readonly CreatedRecord[],
  logged: ReadonlySet<string>,
  at: string,
): Promise<number> {
  let restored = 0;
  for (const record of withdrawn) {
    if (logged.has(record.eventId)) continue;
    if (await record.queue.createOpen(record.pair, at)) restored++;
  }
  return restored;
}
