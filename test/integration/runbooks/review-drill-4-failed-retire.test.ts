import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { CoreBranchRecord } from '../../../lib/commands/retire-branch.ts';
import { type CoreLogCell, retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import type { ConflictRecordPort } from '../../../lib/conflict/record-store.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { settleCoreAggregate } from '../../../lib/runbooks/index.ts';
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
 *
 * Fixed: a retire failing for any reason takes back (best effort) the records it created for events still
 * logged; a retire whose pair is taken by a stale OPEN record naming the other event as lost rewrites it to
 * name its own event; the settlement withdraws open core-branch records of events on the winning branch
 * still in the home's log (what a crash, whose withdrawal never ran, leaves). Switch
 * `failed-retire-keeps-records`: all three off.
 */

/** Queues whose withdrawals fail: the retiring function crashed before its best-effort withdrawal. */
function crashing(queues: readonly ConflictRecordPort[]): ConflictRecordPort[] {
  return queues.map(
    (queue) =>
      new Proxy(queue, {
        get(target, key, receiver) {
          if (key === 'withdrawOpen')
            return async () => {
              throw new Error('the retiring function crashed');
            };
          return Reflect.get(target, key, receiver);
        },
      }),
  );
}
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

async function failedThenMoved(options: { crash?: boolean; y2?: boolean } = {}) {
  const { crash = false, y2: writeY2 = true } = options;
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
  const holds = new DynamoPublishHolds({
    client: world.cells[A]!.db.doc,
    tableName: world.cells[A]!.db.tables.replication,
  });
  let y2: (typeof x2)[] = [];
  if (writeY2) {
    y2 = await world.write(A, id, { type: 'Deposit', payload: { amount: 20 } });
    await world.deliver(C, y2);
    // A failed to publish Y2: its publisher holds it.
    await holds.hold([{ id: y2[0]!.eventId, hlc: y2[0]!.hlc, partition }]);
  }
  const read = (await world.map.read(partition))!;
  const queues = [A, B, C].map((r) => world.cells[r]!.conflicts);
  // Repair's retire of X2 in B, as settleCoreAggregate makes it; its transaction is throttled.
  const first = await retireCoreBranch({
    cell: throttledOnce(world.deps.cell(B) as unknown as CoreLogCell),
    queues: crash ? crashing(queues) : queues,
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
  const openRecords = async () =>
    (
      await Promise.all(
        queues.map(async (q) => (await q.listForAggregate('account', id)).filter((r) => r.status === 'open')),
      )
    ).map((open) => open.length);
  return { world, id, partition, holds, first, x2, y2: y2[0]!, atB, orphanOf, openRecords };
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

  it('with failed-retire-keeps-records, X2 stays queued as lost at its new home and Y2 has no record', async () => {
    const { first, x2, y2, atB, orphanOf } = await withBug('failed-retire-keeps-records', () =>
      failedThenMoved(),
    );
    expect({
      first,
      y2InB: atB.includes(y2.eventId),
      openRecordsOfX2: orphanOf(x2.eventId, 'open'),
      recordsOfY2: orphanOf(y2.eventId),
    }).toEqual({ first: 'TransactionCanceledException', y2InB: false, openRecordsOfX2: 1, recordsOfY2: 0 });
  });

  it('a crash before the withdrawal: the next retire of Y2 rewrites the stale pair record to name Y2', async () => {
    const { first, x2, y2, atB, orphanOf } = await failedThenMoved({ crash: true });
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
});

/** The settlement of the aggregate Failback's orphan settlement (and Repair's, on a fork) makes, home B. */
async function settleAtB(
  world: Awaited<ReturnType<typeof failedThenMoved>>['world'],
  id: string,
  partition: number,
) {
  const entry = (await world.map.read(partition))!;
  await settleCoreAggregate({
    aggregate: world.deps.registry.get('account'),
    aggregateId: id,
    cells: [A, B, C].map((r) => world.deps.cell(r)),
    home: entry.home,
    epoch: entry.epoch,
  });
}

describe('review 4: a retire that crashed after queueing, then the home moved to its region (no new loser)', () => {
  it('the settlement withdraws the stale open records of X2, on the winning branch and in the home’s log', async () => {
    const { world, id, partition, first, x2, atB, openRecords } = await failedThenMoved({
      crash: true,
      y2: false,
    });
    await settleAtB(world, id, partition);
    expect({ first, x2InB: atB.includes(x2.eventId), open: await openRecords() }).toEqual({
      first: 'TransactionCanceledException',
      x2InB: true,
      open: [0, 0, 0],
    });
  });

  it('with failed-retire-keeps-records, a crash leaves X2 queued as lost in every queue though B holds it', async () => {
    const { x2, atB, openRecords } = await withBug('failed-retire-keeps-records', async () => {
      const run = await failedThenMoved({ crash: true, y2: false });
      await settleAtB(run.world, run.id, run.partition);
      return run;
    });
    expect({ x2InB: atB.includes(x2.eventId), open: await openRecords() }).toEqual({
      x2InB: true,
      open: [1, 1, 1],
    });
  });
});
