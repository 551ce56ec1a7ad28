import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { checkCoreLogs, checkCoreTier, checkFencing } from '../../../lib/verify/index.ts';
import { A, B, type BranchWorld, branchWorld, C, runRepair } from './branch-cells.ts';

const open = { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } };
const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

/**
 * Issue 11, scenario 2: a third region must not join two branches of one core log. Old home A writes X at
 * seq 4 (it reaches C, not B) and dies; the partition fails over to B, which writes Y at 4 and Y' at 5.
 * Before the chain rule, C quarantined Y and folded Y' on top of X: a row (and log) made of both branches.
 */
async function forkAtC(world: BranchWorld) {
  const { id, partition } = await world.account('chain', A);
  const base: EventEnvelope[] = [];
  base.push(...(await world.write(A, id, open)));
  for (const amount of [1, 2]) base.push(...(await world.write(A, id, deposit(amount))));
  await world.deliver(B, base);
  await world.deliver(C, base);
  const [x] = await world.write(A, id, deposit(100));
  await world.deliver(C, [x!]);
  await world.move(partition, A, B);
  const [y] = await world.write(B, id, deposit(7));
  const [y2] = await world.write(B, id, deposit(8));
  const outcomes = await world.deliver(C, [y!, y2!]);
  return { id, partition, x: x!, y: y!, y2: y2!, outcomes };
}

const log = async (world: BranchWorld, region: string, id: string) =>
  world.cells[region]!.events.loadStream('account', id);
const row = async (world: BranchWorld, region: string, id: string) => {
  const r = await world.cells[region]!.states.getState('account', id);
  return r && { version: r.version, seq: r.seq, head: r.head, state: JSON.parse(r.state) };
};

/** Checker anomalies of the core and fencing checkers over the given regions' stores, for this account. */
async function anomalies(world: BranchWorld, regions: readonly string[], id: string) {
  const snapshots = await world.snapshots(regions);
  const operations = new Map([...world.operations()].filter(([k]) => k === `account/${id}`));
  const core = checkCoreTier({ operations, regions: snapshots });
  const fencing = checkFencing(snapshots);
  const logs = checkCoreLogs(snapshots).anomalies.filter((a) => a.key === `account/${id}`);
  // Not linearizable by design: X was acknowledged under `ack: local` and forked off by the failover; it is
  // in the manual conflict queue (the core checker counts it there), not in the history's final state.
  const logAnomalies = core.anomalies.filter((a) => a.checker !== 'linearizability');
  return [...logAnomalies, ...logs, ...fencing.anomalies.filter((a) => a.key === `account/${id}`)].map(
    (a) => `${a.checker}/${a.kind}${a.region ? `@${a.region}` : ''}`,
  );
}

describe('scenario 2: a replica folds only an event that extends its head', () => {
  it("keeps C on one branch, then Repair moves every region onto the home's branch and queues the loser", async () => {
    const world = await branchWorld(B);
    const { id, partition, x, y, y2, outcomes } = await forkAtC(world);

    // C holds X at seq 4: Y (same seq) is a fork and Y' (prev = Y) does not extend C's head.
    expect(outcomes).toEqual(['quarantined', 'parked']);
    expect(await row(world, C, id)).toMatchObject({ seq: 4, head: x.hlc, state: { balance: 103 } });
    expect((await log(world, C, id)).map((e) => e.eventId)).not.toContain(y2.eventId);
    // The chain checker finds no log made of two branches (C only lags the home).
    expect((await anomalies(world, [B, C], id)).filter((a) => a.includes('joined-log'))).toEqual([]);

    // A is dead: Repair runs over B (the home) and C.
    const report = await runRepair(world, { partitions: [partition], peers: [B, C] });
    expect(report).toMatchObject({ partitionsDiffering: 1, partitionsFailed: [] });
    expect((await log(world, C, id)).map((e) => e.eventId)).toEqual(
      (await log(world, B, id)).map((e) => e.eventId),
    );
    expect(await row(world, C, id)).toEqual(await row(world, B, id));
    expect(await row(world, C, id)).toMatchObject({ seq: 5, head: y2.hlc, state: { balance: 18 } });
    expect(await world.cells[C]!.parking.parked('account', id, 0)).toEqual([]);
    // X (acknowledged by A) is in the manual conflict queue of B and C, with its full envelope.
    for (const region of [B, C]) {
      const records = await world.cells[region]!.conflicts.listForAggregate('account', id);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ status: 'open', eventIds: [x.eventId, y.eventId].sort() });
      expect((records[0] as unknown as { versions: { orphan: EventEnvelope } }).versions.orphan).toEqual(x);
    }
    expect(await anomalies(world, [B, C], id)).toEqual([]);

    // A returns: Failback brings it onto the home's branch too (X queued in A's queue as well).
    const state: Record<string, unknown> = { region: A };
    for (const task of ['CatchUp', 'FindOrphans', 'ReconcileImportant', 'QueueCoreOrphans'])
      state[task[0]!.toLowerCase() + task.slice(1)] = await world.task('failback', task, state);
    expect((await log(world, A, id)).map((e) => e.eventId)).toEqual(
      (await log(world, B, id)).map((e) => e.eventId),
    );
    expect(await row(world, A, id)).toEqual(await row(world, B, id));
    expect(await world.cells[A]!.conflicts.listForAggregate('account', id)).toHaveLength(1);
    expect(await anomalies(world, [A, B, C], id)).toEqual([]);
  });

  it('with the unchained-fold switch on, C folds both branches and the core checker reports it', async () => {
    await withBug('unchained-fold', async () => {
      const world = await branchWorld(B);
      const { id, x, y2, outcomes } = await forkAtC(world);
      expect(outcomes).toEqual(['quarantined', 'applied']);
      const logged = await log(world, C, id);
      expect(logged.map((e) => e.eventId).slice(-2)).toEqual([x.eventId, y2.eventId]);
      expect(await anomalies(world, [B, C], id)).toContain(`core-log/joined-log@${C}`);
    });
  });
});
