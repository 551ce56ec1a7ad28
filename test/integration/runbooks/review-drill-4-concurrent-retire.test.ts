import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type CoreLogCell, retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { A, B, branchWorld, C, runRepair } from './branch-cells.ts';

/**
 * Review 4 of i17-drill, claim 1 (d)+(f): two retires of the same losing branch at once, one of them
 * refused (here by the owner check, HomeMovedError; the seal's PeerRefusedError takes the same path).
 *
 * `withdrawCreated` takes back the open records the refused call CREATED for events its log read still
 * holds. But the other retire found those very records already there (createOpen answered false: nothing
 * in its own `created`) and relies on them: it deletes the event right after the withdrawal. The event
 * leaves the log with no record in any queue — an acknowledged-then-retired write lost without trace.
 *
 * Interleaving (forced with a gate on each retire's transaction client; everything else is real):
 *   R1 (owner A@e, read before a Failover A->C)  queues X2: creates the record in every queue
 *   Failover A->C (epoch e+1)
 *   R2 (owner C@e+1: a later Repair/Failback run) queues X2: records already there, creates none
 *   R1's chunk transaction: owner check fails -> refuse(): X2 still logged -> withdrawOpen in every queue
 *   R2's chunk transaction commits: X2 deleted from B's log
 * End: X2 in no log and in no queue. And if B had failed to publish X2 (a publish hold), Repair's hold
 * release can never release it (no region holds X2, no record carries it): B's heartbeat carries it for
 * good, every verifying pass reports it kept.
 *
 * Fixed: a retire makes sure of its chunk's records once the chunk committed, and a refused one reads the
 * log again after withdrawing and puts back the records of events gone meanwhile (either order ends with
 * X2's record in every queue). Switch `retire-withdraws-relied-on-records`: the bug back.
 */
function gated(cell: CoreLogCell, before: () => Promise<void>): CoreLogCell {
  const client = cell.tables.client;
  const wrapped = new Proxy(client, {
    get(target, key, receiver) {
      if (key !== 'send') return Reflect.get(target, key, receiver);
      return async (command: unknown) => {
        if (command instanceof TransactWriteCommand) await before();
        return target.send(command as never);
      };
    },
  });
  return { ...cell, tables: { ...cell.tables, client: wrapped } };
}

function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** The queues, each withdrawal of which first waits for `before` (R1's takeBack held after its log read). */
function gatedWithdrawals<Q extends object>(queues: readonly Q[], before: () => Promise<void>): Q[] {
  return queues.map(
    (queue) =>
      new Proxy(queue, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (key !== 'withdrawOpen' || typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            await before();
            return value.apply(target, args);
          };
        },
      }),
  );
}

/**
 * `withdraw-first`: R1's withdrawal runs before R2's chunk commits. `commit-first`: R1 reads the log (X2
 * still there) and is about to withdraw when R2's chunk commits and R2 returns; then R1 withdraws.
 */
async function raceTwoRetires(order: 'withdraw-first' | 'commit-first' = 'withdraw-first') {
  const world = await branchWorld(A);
  const { id, partition } = await world.account('rv4-twice', A);
  const opened = await world.write(A, id, {
    type: 'OpenAccount',
    payload: { owner: 'o', currency: 'EUR' },
  });
  await world.deliver(B, opened);
  await world.deliver(C, opened);
  // B, writing as a stale home, logged X2; A logged Y2 (C has it): X2 is the losing branch in B.
  const x2 = (
    await world.cells[B]!.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'Deposit', payload: { amount: 2 } },
    } as never)
  ).events[0]!;
  const y2 = await world.write(A, id, { type: 'Deposit', payload: { amount: 20 } });
  await world.deliver(C, y2);
  const winning = await world.cells[A]!.events.loadStream('account', id);
  const aggregate = world.deps.registry.get('account');
  const read = (await world.map.read(partition))!;
  const queues = [A, B, C].map((r) => world.cells[r]!.conflicts);
  // B failed to publish X2: its publisher holds it.
  const holds = new DynamoPublishHolds({
    client: world.cells[B]!.db.doc,
    tableName: world.cells[B]!.db.tables.replication,
  });
  await holds.hold([{ id: x2.eventId, hlc: x2.hlc, partition }]);
  const base = world.deps.cell(B) as unknown as CoreLogCell;

  const r1AtTx = latch();
  const r2AtTx = latch();
  const r1Settled = latch();
  const r1AtWithdraw = latch();
  const r2Settled = latch();
  const r1Queues =
    order === 'commit-first'
      ? gatedWithdrawals(queues, async () => {
          r1AtWithdraw.open();
          await r2Settled.opened;
        })
      : queues;
  const r1 = retireCoreBranch({
    cell: gated(base, async () => {
      r1AtTx.open();
      await r2AtTx.opened;
    }),
    queues: r1Queues,
    aggregate,
    losing: [x2],
    winning,
    reason: 'fork',
    owner: { home: read.home, epoch: read.epoch },
  }).then(
    () => 'done',
    (error: Error) => error.name,
  );
  void r1.then(() => r1Settled.open());
  await r1AtTx.opened; // R1 queued X2 (created the records) and is about to send its chunk
  await world.move(partition, A, C); // a Failover; a later run reads the new owner
  const moved = (await world.map.read(partition))!;
  const r2 = retireCoreBranch({
    cell: gated(base, async () => {
      r2AtTx.open();
      await (order === 'commit-first' ? r1AtWithdraw.opened : r1Settled.opened);
    }),
    queues,
    aggregate,
    losing: [x2],
    winning,
    reason: 'fork',
    owner: { home: moved.home, epoch: moved.epoch },
  }).then(
    () => 'done',
    (error: Error) => error.name,
  );
  void r2.then(() => r2Settled.open());
  const outcomes = [await r1, await r2];
  const atB = (await world.cells[B]!.events.loadStream('account', id)).map((e) => e.eventId);
  const recordsOfX2 = await Promise.all(
    queues.map(
      async (q) =>
        (await q.listForAggregate('account', id)).filter((r) => r.eventIds.includes(x2.eventId)).length,
    ),
  );
  return { world, partition, holds, outcomes, x2InB: atB.includes(x2.eventId), recordsOfX2, x2 };
}

describe('review 4: a refused retire withdraws the records a concurrent retire of the same branch relies on', () => {
  it('keeps a record of X2 in every queue once X2 has left the log', async () => {
    const { outcomes, x2InB, recordsOfX2 } = await raceTwoRetires();
    expect({ outcomes, x2InB, recordsOfX2 }).toEqual({
      outcomes: ['HomeMovedError', 'done'],
      x2InB: false,
      recordsOfX2: [1, 1, 1],
    });
  });

  it("releases B's publish hold of the retired X2 at the next Repair (else it is kept for good)", async () => {
    const { world, partition, holds, x2InB } = await raceTwoRetires();
    const report = await runRepair(world, { partitions: [partition] });
    const again = await runRepair(world, { partitions: [partition] });
    expect({ x2InB, oldest: await holds.oldest(), kept: [report.holdsKept, again.holdsKept] }).toEqual({
      x2InB: false,
      oldest: undefined,
      kept: [0, 0],
    });
  });

  it('keeps a record of X2 in every queue when R2 commits between R1’s log read and its withdrawal', async () => {
    const { outcomes, x2InB, recordsOfX2 } = await raceTwoRetires('commit-first');
    expect({ outcomes, x2InB, recordsOfX2 }).toEqual({
      outcomes: ['HomeMovedError', 'done'],
      x2InB: false,
      recordsOfX2: [1, 1, 1],
    });
  });

  it('with retire-withdraws-relied-on-records, R2 committing before R1’s withdrawal also loses X2’s records', async () => {
    const { x2InB, recordsOfX2 } = await withBug('retire-withdraws-relied-on-records', () =>
      raceTwoRetires('commit-first'),
    );
    expect({ x2InB, recordsOfX2 }).toEqual({ x2InB: false, recordsOfX2: [0, 0, 0] });
  });

  it('with retire-withdraws-relied-on-records, X2 leaves B with no record in any queue', async () => {
    const { outcomes, x2InB, recordsOfX2 } = await withBug('retire-withdraws-relied-on-records', () =>
      raceTwoRetires(),
    );
    expect({ outcomes, x2InB, recordsOfX2 }).toEqual({
      outcomes: ['HomeMovedError', 'done'],
      x2InB: false,
      recordsOfX2: [0, 0, 0],
    });
  });
});
