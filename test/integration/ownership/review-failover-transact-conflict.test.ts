import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoControlReplica, partitionKey } from '../../../lib/ownership/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

/*
 * Review of i15-failover, claim (1): a batch of conditional puts is now one TransactWriteItems. In
 * DynamoDB a transaction is cancelled with reason TransactionConflict when another transaction holds
 * one of its items, and a plain PutItem on such an item fails with TransactionConflictException. The
 * control table's PARTITION#<p> items ARE held by other transactions all the time: every quorum-peer
 * core append carries a ConditionCheck on them (lib/commands/quorum-peer-dynamodb.ts, sealCheck), and
 * so does retire-branch. DynamoDB Local serialises transactions and never reports the conflict, so the
 * conflict is injected at the SDK boundary below; every other call reaches DynamoDB Local.
 * Interleaving: a Switchover / Failover fences 100 partitions -> on one replica, partition 7 is under a
 * peer append's ConditionCheck through the 3 transaction attempts and the single put that follows ->
 * `write` rethrows TransactionConflictException (it only maps ConditionalCheckFailed) -> putEach's
 * Promise.all rejects -> writeMany rejects -> batchWriteRound counts that replica FAILED for all 100
 * keys, although 99 were stored there (and partition 7 was never refused). With a second replica slow,
 * every one of the 100 fences reports QuorumUnavailable though it committed. (Before the change the
 * same rethrow existed, but only the one item's own put could meet a conflict; a 100-item transaction
 * meets one whenever ANY of its items is held.)
 * Fix: treat TransactionConflict as "try again" (backoff) in `write`, and let one item's error fail only
 * that item (stored[i] = false, or a per-item failure) instead of the whole batch.
 */
let region: TestRegion;
let replica: DynamoControlReplica;
const HELD = partitionKey(7);

beforeAll(async () => {
  region = await freshRegion('eu-west-1');
  // A peer append holds PARTITION#7 for the whole batch write: DynamoDB's answers, as it gives them.
  const holding = {
    send: (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        const items = command.input.TransactItems ?? [];
        const held = items.findIndex((i) => i.Put?.Item?.pk === HELD);
        if (held >= 0)
          return Promise.reject(
            new TransactionCanceledException({
              message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
              $metadata: {},
              CancellationReasons: items.map((_, k) =>
                k === held
                  ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
                  : { Code: 'None' },
              ),
            }),
          );
      }
      if (command instanceof PutCommand && command.input.Item?.pk === HELD)
        return Promise.reject(
          new TransactionConflictException({
            message: 'Transaction is ongoing for the item',
            $metadata: {},
          }),
        );
      return region.doc.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  replica = new DynamoControlReplica({
    region: 'eu-west-1',
    client: holding,
    tableName: region.tables.control,
  });
});

describe('review-failover: a transaction conflict on one item of a batch write', () => {
  it('stores and reports the other 99 items; only the held item is not stored', async () => {
    const keys = Array.from({ length: 100 }, (_, p) => partitionKey(p));
    const record = { epoch: 1, ballot: 'fence', value: { home: 'us-east-1', state: 'fenced' } };

    const stored = await replica.writeMany(keys.map((key) => ({ key, record })));

    expect(stored).toEqual(keys.map((key) => key !== HELD));
  });

  it('reports the held item failed, not refused: its condition never failed', async () => {
    const keys = Array.from({ length: 100 }, (_, p) => partitionKey(p));
    const record = { epoch: 2, ballot: 'collect', value: { home: 'us-east-1', state: 'fenced' } };

    const outcomes = await replica.writeOutcomes(keys.map((key) => ({ key, record })));

    expect(outcomes).toEqual(keys.map((key) => (key === HELD ? 'failed' : 'stored')));
  });

  it('stores an item whose conflict clears after a try (retried with a backoff), and refuses a stale one', async () => {
    let conflicts = 1;
    const once = new DynamoControlReplica({
      region: 'eu-west-1',
      tableName: region.tables.control,
      client: {
        send: (command: unknown) => {
          if (command instanceof TransactWriteCommand && conflicts > 0) {
            conflicts--;
            const items = command.input.TransactItems ?? [];
            return Promise.reject(
              new TransactionCanceledException({
                message: 'Transaction cancelled',
                $metadata: {},
                CancellationReasons: items.map((_, k) =>
                  k === 0 ? { Code: 'TransactionConflict' } : { Code: 'None' },
                ),
              }),
            );
          }
          return region.doc.send(command as never);
        },
      } as unknown as DynamoDBDocumentClient,
    });
    const fresh = [partitionKey(200), partitionKey(201)];
    const stale = partitionKey(3); // epoch 1 there, or higher after the tests above
    const record = { epoch: 1, ballot: 'older', value: { home: 'eu-west-1', state: 'active' } };

    const outcomes = await once.writeOutcomes([...fresh, stale].map((key) => ({ key, record })));

    expect(outcomes).toEqual(['stored', 'stored', 'refused']);
    expect(conflicts).toBe(0);
  });
});
