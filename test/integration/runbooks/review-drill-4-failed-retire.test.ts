import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { CoreBranchRecord } from '../../../lib/commands/retire-branch.ts';
import { type CoreLogCell, retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { A, B, branchWorld, C, runRepair } from './branch-cells.ts';

/**
 * Review 4 of i17-drill, claim 1 (g): the records a retire queued for events still logged are withdrawn
 * only when the seal or the owner check refuses it. A chunk transaction failing for any other reason
 * (TransactionCanceled for throttling, a timeout, ContentionError after RETIRE_ATTEMPTS) leaves them open.
 * Harmless while the branch stays the loser (the next run retires it, reusing them), but when the home
 * then moves to the region holding that branch, its events are the new home's acknowledged writes and the
 * open record says they were retired: an operator acting on it applies X2 twice. Worse, the pair id of
 * that stale record (sorted eventIds) is the very pair the next Repair needs for the event that now
 * loses (Y2 at A and C): createOpen finds the pair taken, so Y2 leaves A's and C's logs with no record of
 * its own (the only record names X2 as the orphan and Y2 as "kept").
 *
 * Interleaving: Repair (owner A@e) queues X2, its chunk transaction in B is throttled (the one injected
 * fault: TransactionCanceledException, ThrottlingError, nothing committed); a Failover moves A -> B; the
 * next Repair settles on B's branch. Had A failed to publish Y2 (a publish hold at A), no Repair can ever
 * release that hold: A's log lacks Y2, no region holds it, and no record carries Y2 as its orphan.
 */
function throttledOnce(cell: CoreLogCell): CoreLogCell {
  let thrown = false;
  const client = new Proxy(cell.tables.client, {
    get(target, key, receiver) {
      if (key !== 'send') return Reflect.get(target, key, receiver);
      return async (command: unknown) => {
        if (command instanceof TransactWriteCommand && !thrown) {
          thrown = true;
          throw new TransactionCanceledException({
            message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
            $metadata: {},
            CancellationReasons: [{ Code: 'ThrottlingError', Message: 'Throughput exceeds the limit' }],
          });
        }
        return target.send(command as never);
      };
    },
  });
  return { ...cell, tables: { ...cell.tables, client } };
}

async function failedThenMoved() {
  const world = await branchWorld(A);
  const { id, partition } = await world.account('rv4-failed', A);
  const opened = await world.write(A, id, {
    type: 'OpenAccount',
    payload: { owner: 'o', currency: 'EUR' },
  });
  await world.deliver(B, opened);
  await world.deliver(C, opened);
  const x2 = (
    await world.cells[B]!.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'Deposit', payload: { amount: 2 } },
    } as never)
  ).events[0]!;
  const [y2] = await world.write(A, id, { type: 'Deposit', payload: { amount: 20 } });
  await world.deliver(C, [y2!]);
  const read = (await world.map.read(partition))!;
  const queues = [A, B, C].map((r) => world.cells[r]!.conflicts);
  // A failed to publish Y2: its publisher holds it.
  const holds = new DynamoPublishHolds({
    client: world.cells[A]!.db.doc,
    tableName: world.cells[A]!.db.tables.replication,
  });
  await holds.hold([{ id: y2!.eventId, hlc: y2!.hlc, partition }]);
  // Repair's retire of X2 in B, as settleCoreAggregate makes it; its transaction is throttled.
  const first = await retireCoreBranch({
    cell: throttledOnce(world.deps.cell(B) as unknown as CoreLogCell),
    queues,
    aggregate: world.deps.registry.get('account'),
    losing: [x2],
    winning: await world.cells[A]!.events.loadStream('account', id),
    reason: 'fork',
    owner: { home: read.home, epoch: read.epoch },
  }).then(
    () => 'done',
    (error: Error) => error.name,
  );
  await world.move(partition, A, B); // Failover: B, holding X2, is the home
  await runRepair(world, { partitions: [partition] });

  const atB = (await world.cells[B]!.events.loadStream('account', id)).map((e) => e.eventId);
  const records = (await world.cells[B]!.conflicts.listForAggregate('account', id)) as Array<
    Awaited<ReturnType<(typeof queues)[0]['listForAggregate']>>[number] & Partial<CoreBranchRecord>
  >;
  const orphanOf = (eventId: string, status?: string) =>
    records.filter(
      (r) => r.versions?.orphan.eventId === eventId && (status === undefined || r.status === status),
    ).length;
  return { world, partition, holds, first, x2, y2: y2!, atB, orphanOf };
}

describe('review 4: a retire that fails (not refused) after queueing, then the home moves to its region', () => {
  it('leaves no open record for the new home’s X2, and Y2 gets a record of its own', async () => {
    const { first, x2, y2, atB, orphanOf } = await failedThenMoved();
    expect({
      first,
      x2InB: atB.includes(x2.eventId),
      y2InB: atB.includes(y2.eventId),
      openRecordsOfX2: orphanOf(x2.eventId, 'open'),
      recordsOfY2: orphanOf(y2.eventId),
    }).toEqual({
      first: 'TransactionCanceledException',
      x2InB: true,
      y2InB: false,
      openRecordsOfX2: 0,
      recordsOfY2: 1,
    });
  });

  it("releases A's publish hold of the retired Y2 at the verifying Repair (else it is kept for good)", async () => {
    const { world, partition, holds } = await failedThenMoved();
    const verifying = await runRepair(world, { partitions: [partition] });
    expect({ oldest: await holds.oldest(), kept: verifying.holdsKept }).toEqual({
      oldest: undefined,
      kept: 0,
    });
  });
});
