import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import {
  type ControlReplica,
  DynamoControlReplica,
  PartitionMap,
  QuorumRegister,
} from '../../../lib/ownership/index.ts';
import type { RunbookDeps } from '../../../lib/runbooks/index.ts';
import {
  activatePartitions,
  fencePartitions,
  movePartitions,
} from '../../../lib/runbooks/partition-moves.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

/*
 * Review 2 of i15-failover (the batch write round, dce9208/ae1d783): "failed counts as no answer for that
 * key only". True for the round, but what BumpEpochs does with a key that got no majority answer is wrong
 * when the write landed anyway.
 *
 * Interleaving (three regions, ap-southeast-1 lost and unreachable; partition P fenced, home ap, epoch 2):
 * 1. BumpEpochs -> activatePartitions -> changeMany: one batch write round proposing {home: eu, active}
 *    at epoch 3. us-east-1 stores it (ack). eu-west-1 STORES it too, but its answer is lost (a timeout
 *    after DynamoDB committed, a connection reset: the classic ambiguous write) -> writeOutcomes: that
 *    item 'failed' -> no item answered -> it throws -> the round counts eu failed. ap fails. acks = 1 <
 *    majority 2, rejected = 0 -> QuorumUnavailableError for P: correct, the round cannot know.
 * 2. P goes to the retry: movePartition -> map.read(P): a majority (us, eu) holds OUR epoch-3 record
 *    {home: eu, state: active} -> nextStep(entry, move): not fenced, home !== move.from -> 'skip' -> null.
 * 3. activatePartitions returns null for P -> BumpEpochs reports it not moved (`moved` lacks it,
 *    `skipped` counts it, writableFrom ignores its activeFrom), though P IS moved to eu-west-1 (epoch 3,
 *    active) by this very run. The failover record / operator see a partition "lost" that is live.
 * Fix: nextStep (or movePartition's retry) must treat "active at move.to" as done and return that entry
 * (the move is idempotent: a committed entry homed at `to` is the outcome the caller wanted); likewise for
 * the single-key path when compareAndSet throws though its record committed.
 */
const LOST = 'ap-southeast-1';
let us: TestRegion;
let eu: TestRegion;
let ap: TestRegion;

/** The lost region: every call fails (unreachable). */
const unreachable: ControlReplica = {
  region: LOST,
  read: () => Promise.reject(new Error('ap-southeast-1 unreachable')),
  write: () => Promise.reject(new Error('ap-southeast-1 unreachable')),
  readMany: () => Promise.reject(new Error('ap-southeast-1 unreachable')),
  writeOutcomes: () => Promise.reject(new Error('ap-southeast-1 unreachable')),
  scan: () => Promise.reject(new Error('ap-southeast-1 unreachable')),
};

beforeAll(async () => {
  [us, eu, ap] = await Promise.all([freshRegion('us-east-1'), freshRegion('eu-west-1'), freshRegion(LOST)]);
});

const replicaOf = (r: TestRegion, client: DynamoDBDocumentClient = r.doc) =>
  new DynamoControlReplica({ region: r.region, client, tableName: r.tables.control });

const mapOver = (replicas: ControlReplica[]) =>
  new PartitionMap({ register: new QuorumRegister({ replicas }), leaseMs: 50, skewMarginMs: 10 });

/** A partition homed in the lost region, then fenced by FencePartitions (epoch 2). */
async function fencedInLost(partition: number) {
  const healthy = mapOver([replicaOf(us), replicaOf(eu), replicaOf(ap)]);
  const homed = await healthy.claim(partition, LOST);
  return healthy.change(partition, homed, { state: 'fenced', reason: 'rehome' });
}

/** eu-west-1's client: its first write reaches DynamoDB and commits, then the answer is lost. */
function losingFirstAnswer(): DynamoDBDocumentClient {
  let loseNextAnswer = true;
  return {
    send: async (command: unknown) => {
      const isWrite = command instanceof PutCommand || command instanceof TransactWriteCommand;
      const result = await eu.doc.send(command as never);
      if (isWrite && loseNextAnswer) {
        loseNextAnswer = false;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      return result;
    },
  } as unknown as DynamoDBDocumentClient;
}

/** BumpEpochs' activation over a map whose eu-west-1 loses its first write's answer. */
async function activateLosingAnswer(partition: number) {
  const fenced = await fencedInLost(partition);
  expect(fenced).toMatchObject({ home: LOST, state: 'fenced', epoch: 2 });
  const map = mapOver([replicaOf(us), replicaOf(eu, losingFirstAnswer()), unreachable]);
  const deps = { map, concurrency: 4 } as unknown as RunbookDeps;
  const move = { partition, from: LOST, to: 'eu-west-1' };
  const [done] = await activatePartitions(deps, { moves: [move], fenced: [{ entry: fenced, to: move.to }] });
  return { done, map, deps, move, fenced };
}

describe('review-failover-2: a rehome whose write landed but whose answer was lost', () => {
  it('reports the partition moved (it is active at the new home, epoch 3), not skipped', async () => {
    const { done, map } = await activateLosingAnswer(5);
    // The run did move it: a majority holds {home: eu-west-1, active} at epoch 3.
    expect(await map.read(5)).toMatchObject({ home: 'eu-west-1', state: 'active', epoch: 3 });
    // ...and BumpEpochs is told so.
    expect(done).toMatchObject({ home: 'eu-west-1', state: 'active', epoch: 3 });
  });

  it('reports it not moved with the bug switch lost-answer-rehome-skipped on', async () => {
    const { done, map } = await withBug('lost-answer-rehome-skipped', () => activateLosingAnswer(6));
    expect(await map.read(6)).toMatchObject({ home: 'eu-west-1', state: 'active', epoch: 3 });
    expect(done).toBeNull();
  });

  it('reports the move again on a retry of the same activation (a retried BumpEpochs task), never a new epoch', async () => {
    const { done, deps, move, fenced } = await activateLosingAnswer(7);
    expect(done).toMatchObject({ home: 'eu-west-1', state: 'active', epoch: 3 });
    // The task retried with its input (the fence it was given): its CAS now loses to its own first write.
    const [again] = await activatePartitions(deps, {
      moves: [move],
      fenced: [{ entry: fenced, to: move.to }],
    });
    expect(again).toEqual(done);
    expect(await deps.map.read(7)).toEqual(done);
  });

  it('reports nothing new on a re-run of the finished failover (its fence step skips the moved partition)', async () => {
    const { done, deps, move } = await activateLosingAnswer(8);
    expect(done).toMatchObject({ home: 'eu-west-1', epoch: 3 });
    // A new execution decides from the committed entries: the partition is no longer homed in the lost region.
    expect(await fencePartitions(deps, [move])).toEqual({ fenced: [], skipped: [8] });
    expect(await movePartitions(deps, [move])).toEqual([null]);
    expect(await deps.map.read(8)).toEqual(done);
  });
});
