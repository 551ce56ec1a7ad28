import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { PartitionMap } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { A, B, branchWorld, C } from './branch-cells.ts';

/**
 * F5 of the third review of i17-drill: Repair (and Failback) read the partition's home, decide the winning
 * branch from it, then retire every other branch. A Failover between that read and the retire moved the
 * home: the branch retired as the loser was the new home's. Guarantee: the retire's transaction checks the
 * region's copy of the partition entry still names the home and epoch read; refused, nothing of the new
 * home's branch leaves its log and no record stays open for it. Switch: `retire-ignores-home-move`.
 *
 * An account homed at A; B, writing as a stale home, logged X2; A logged Y2 (C has it). Repair's Replay
 * reads the home (A); right after that read a Failover moves the partition to B.
 */
async function repairRacedByFailover() {
  const world = await branchWorld(A);
  const { id, partition } = await world.account('home-moved', A);
  const opened = await world.write(A, id, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } });
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

  let armed = false;
  const real = world.deps.map;
  const map = new Proxy(real, {
    get(target, key, receiver) {
      if (key !== 'read') return Reflect.get(target, key, receiver);
      return async (p: number) => {
        const entry = await target.read(p);
        if (armed && p === partition) {
          armed = false;
          await world.move(partition, A, B); // the Failover, right after Repair's read of the home
        }
        return entry;
      };
    },
  }) as PartitionMap;
  const deps: RunbookDeps = { ...world.deps, map };
  const run = createRunbookDispatcher(deps);
  const task = (name: string, input: Record<string, unknown>) =>
    run({ runbook: 'repair', task: name, input });
  const listed = await task('ListPartitions', { partitions: [partition] });
  const item: Record<string, unknown> = {
    ...(listed.partitions as Array<Record<string, unknown>>).find((p) => p.partition === partition)!,
  };
  item.buildTrees = await task('BuildTrees', item);
  item.diff = await task('Diff', item);
  armed = true;
  const outcome = await task('Replay', item).then(
    () => 'done',
    (error: Error) => error.name,
  );
  const home = (await real.read(partition))?.home;
  const atB = (await world.cells[B]!.events.loadStream('account', id)).map((e) => e.eventId);
  const open = (await world.cells[B]!.conflicts.listForAggregate('account', id)).filter(
    (r) => r.status === 'open',
  );
  return { outcome, home, atB, x2: x2.eventId, open: open.length };
}

describe("review 3: a Failover between Repair's read of the home and its retire", () => {
  it('refuses the retire: the new home keeps its branch, no record left open for it', async () => {
    const { outcome, home, atB, x2, open } = await repairRacedByFailover();
    expect({ outcome, home, x2InB: atB.includes(x2), open }).toEqual({
      outcome: 'HomeMovedError',
      home: B,
      x2InB: true,
      open: 0,
    });
  });

  it("with retire-ignores-home-move, retires the new home's X2 as the loser", async () => {
    const { outcome, home, atB, x2 } = await withBug('retire-ignores-home-move', repairRacedByFailover);
    expect({ outcome, home, x2InB: atB.includes(x2) }).toEqual({ outcome: 'done', home: B, x2InB: false });
  });
});
