import { describe, expect, it } from 'vitest';
import { type CoreLogCell, retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import {
  type ControlReplica,
  DynamoControlReplica,
  PartitionMap,
  QuorumRegister,
} from '../../../lib/ownership/index.ts';
import { movePartition } from '../../../lib/runbooks/index.ts';
import { A, B, branchWorld, C } from './branch-cells.ts';

/**
 * Review 4 of i17-drill, claim 1 (c): the owner check (ownerCheck, 25b1859) reads the RETIRING region's
 * copy of the partition entry and lets a copy at or below the epoch read pass. A Failover commits once a
 * majority of the copies took it: the retiring region's own copy may be the one it missed (one write to B's
 * control table throttled or timed out). When that region is the new home, its copy still names the old
 * home at the old epoch, the check passes, and the new home's branch (X2, acknowledged by B) is retired as
 * the loser: F5 again, through the copy the check trusts.
 *
 * Interleaving: Repair reads the owner (A@e) and decides A's branch wins; a Failover A -> B commits on A's
 * and C's copies (B's copy write fails); the retire of X2 in B checks B's copy (still A@e) and proceeds.
 */
describe("review 4: a Failover that missed the new home's own copy of the entry", () => {
  it('still refuses the retire of the new home’s branch (HomeMovedError, X2 kept)', async () => {
    const world = await branchWorld(A);
    const { id, partition } = await world.account('rv4-lagging', A);
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
    const y2 = await world.write(A, id, { type: 'Deposit', payload: { amount: 20 } });
    await world.deliver(C, y2);
    const read = (await world.map.read(partition))!; // Repair's read of the owner: A

    // The Failover, through a register whose write to B's copy fails (B's copy keeps A@e).
    const replicas: ControlReplica[] = [A, B, C].map((r) => {
      const cell = world.cells[r]!;
      const real = new DynamoControlReplica({
        region: r,
        client: cell.db.doc,
        tableName: cell.db.tables.control,
      });
      if (r !== B) return real;
      return {
        region: r,
        read: (key) => real.read(key),
        write: async () => {
          throw new Error('ThrottlingException: write to eu-west-1 control table');
        },
      } satisfies ControlReplica;
    });
    const lagging = new PartitionMap({
      register: new QuorumRegister({ replicas, callTimeoutMs: 2_000 }),
      leaseMs: 300,
      skewMarginMs: 50,
    });
    await movePartition({ ...world.deps, map: lagging }, { partition, from: A, to: B });
    const now = (await world.map.read(partition))!;

    const outcome = await retireCoreBranch({
      cell: world.deps.cell(B) as unknown as CoreLogCell,
      queues: [A, B, C].map((r) => world.cells[r]!.conflicts),
      aggregate: world.deps.registry.get('account'),
      losing: [x2],
      winning: await world.cells[A]!.events.loadStream('account', id),
      reason: 'fork',
      owner: { home: read.home, epoch: read.epoch },
    }).then(
      () => 'done',
      (error: Error) => error.name,
    );
    const atB = (await world.cells[B]!.events.loadStream('account', id)).map((e) => e.eventId);
    expect({
      home: now.home,
      movedPast: now.epoch > read.epoch,
      outcome,
      x2InB: atB.includes(x2.eventId),
    }).toEqual({
      home: B,
      movedPast: true,
      outcome: 'HomeMovedError',
      x2InB: true,
    });
  });
});
