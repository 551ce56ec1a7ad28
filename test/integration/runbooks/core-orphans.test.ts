import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { checkCoreTier } from '../../../lib/verify/index.ts';
import { A, B, type BranchWorld, branchWorld, C } from './branch-cells.ts';

const open = { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } };
const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

/**
 * Issue 11, scenario 3: A (home, ack local) writes X1, X2, X3 at seqs 3-5; only X1 reaches C before A dies.
 * B, the new home, writes Y1 at seq 3: a fork at 3, and seqs 4-5 were never used by the home. Failback used
 * to queue X1, then neither adopt nor queue X2 and X3 (orphans after the first fork) and delete them from
 * A's log: two acknowledged writes gone without a trace; and C kept X1 on the losing branch.
 */
async function orphansAfterFork(world: BranchWorld) {
  const { id, partition } = await world.account('orphans', A);
  const base = [...(await world.write(A, id, open)), ...(await world.write(A, id, deposit(1)))];
  await world.deliver(B, base);
  await world.deliver(C, base);
  const orphans: EventEnvelope[] = [];
  for (const amount of [10, 20, 30]) orphans.push(...(await world.write(A, id, deposit(amount))));
  await world.deliver(C, orphans.slice(0, 1));
  await world.move(partition, A, B);
  const [y1] = await world.write(B, id, deposit(5));
  await world.deliver(C, [y1!]);
  const state: Record<string, unknown> = { region: A };
  for (const task of ['CatchUp', 'FindOrphans', 'ReconcileImportant', 'QueueCoreOrphans'])
    state[task[0]!.toLowerCase() + task.slice(1)] = await world.task('failback', task, state);
  return { id, orphans, y1: y1!, queued: state.queueCoreOrphans as { adopted: number; queued: unknown[] } };
}

async function lostWrites(world: BranchWorld, id: string) {
  const operations = new Map([...world.operations()].filter(([k]) => k === `account/${id}`));
  const core = checkCoreTier({ operations, regions: await world.snapshots([A, B, C]) });
  return core.anomalies.filter((a) => a.kind === 'lost-write').map((a) => a.message);
}

describe('scenario 3: every core orphan ends adopted or in the manual queue', () => {
  it("queues orphans after the first fork in every region and moves every region onto the home's branch", async () => {
    const world = await branchWorld(B);
    const { id, orphans, y1, queued } = await orphansAfterFork(world);

    expect(queued.adopted).toBe(0);
    expect(queued.queued).toEqual(
      orphans.map((o) =>
        expect.objectContaining({ eventId: o.eventId, seq: o.seq, outcome: 'queued', kept: y1.eventId }),
      ),
    );
    const home = (await world.cells[B]!.events.loadStream('account', id)).map((e) => e.eventId);
    const homeRow = await world.cells[B]!.states.getState('account', id);
    for (const region of [A, B, C]) {
      const cell = world.cells[region]!;
      expect((await cell.events.loadStream('account', id)).map((e) => e.eventId)).toEqual(home);
      const row = await cell.states.getState('account', id);
      expect({ ...row, updatedAt: 0 }).toEqual({ ...homeRow, updatedAt: 0 });
      const records = await cell.conflicts.listForAggregate('account', id);
      const kept = records.map(
        (r) => (r as unknown as { versions: { orphan: EventEnvelope } }).versions.orphan,
      );
      expect(kept.sort((a, b) => a.seq - b.seq)).toEqual(orphans);
    }
    expect(await lostWrites(world, id)).toEqual([]);
  });

  it('with the orphan-delete-after-fork switch on, orphans after the fork vanish and the checker reports them lost', async () => {
    await withBug('orphan-delete-after-fork', async () => {
      const world = await branchWorld(B);
      const { id, orphans, queued } = await orphansAfterFork(world);
      expect(queued.queued).toHaveLength(1);
      const lost = await lostWrites(world, id);
      for (const orphan of orphans.slice(1)) expect(lost.join('\n')).toContain(orphan.eventId);
    });
  });
});
