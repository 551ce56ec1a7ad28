import { describe, expect, it } from 'vitest';
import { createRunbookDispatcher, RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { AccountClient, quiesceAndCheck } from './clients.ts';
import { REGIONS_3, runTasks, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const U = 'us-east-1';
const E = 'eu-west-1';
const P = 'ap-southeast-1';

/**
 * Review of issue 11 (quorum ack, 3 regions). CollectCopies starts the collected run at the new home's ROW
 * (`covers`, `eventsFrom(row.seq + 1)`, `collectedChain` from the row's head), so a new home whose row sits
 * on an older epoch's branch never sees a later epoch's acknowledged write at the same seq:
 *
 * 1. U (home, epoch e) acknowledges open + deposit 1; then its copies fail: deposit 100 answers 503 but stays
 *    in U's log and row at seq 3 (outcome unknown, as documented).
 * 2. U is lost; Failover moves the partition to E (collects from E and P: seq 2). E acknowledges deposit 5
 *    at seq 3 (epoch e+2), held by E and P.
 * 3. U comes back (its Failback not run yet: drained, but reachable, so a survivor); E is lost; Failover
 *    picks U (nearest to E). U's row is at seq 3 = deposit 100 (epoch e); P's marker is seq 3 = deposit 5.
 *    `covers` is false, but the peers are read from seq 4 on and the run starts at U's row head: nothing
 *    collected. U is activated with the acknowledged deposit 5 missing from its log and row.
 * Correct outcome: U collects deposit 5, its old branch (deposit 100, answered 503) retired into the
 * conflict queue by retireCoreBranch.
 */
describe('review i11: Failover into a region whose row is on an older epoch branch', {
  timeout: 180_000,
}, () => {
  it('keeps the acknowledged write of the later epoch in the new home', async () => {
    const cluster = await startQuorumCluster(REGIONS_3);
    const client = new AccountClient(cluster);
    const id = `rv-stale-${Date.now().toString(36)}`;
    expect(await client.send(U, 'open', id)).toBe(200);
    expect(await client.send(U, 'deposit', id, 1)).toBe(200);
    for (const r of [E, P]) await cluster.replicate(U, r, 'account', id);

    // 1. U's copies fail: deposit 100 is in U's log and row only (503, outcome unknown).
    cluster.links.cutCopies(U, E);
    cluster.links.cutCopies(U, P);
    expect(await client.send(U, 'deposit', id, 100)).toBe(503);
    cluster.links.heal();

    // 2. U lost; Failover to E; E acknowledges deposit 5 (copied to P).
    cluster.links.isolate(U);
    const first = await runTasks(
      createRunbookDispatcher(cluster.runbookDeps(E)),
      'failover',
      RUNBOOK_TASKS.failover,
      {
        region: U,
        trigger: 'test',
      },
    );
    expect((first.chooseNewHomes as { moves: Array<{ to: string }> }).moves[0]?.to).toBe(E);
    await untilWritable(first, cluster);
    expect(await client.send(E, 'deposit', id, 5)).toBe(200);
    const acked = (await cluster.regions[E]!.events.loadStream('account', id)).at(-1)!;
    expect(acked.payload).toEqual({ amount: 5 });

    // 3. U is back (Failback pending), E is lost; Failover picks U.
    cluster.links.heal();
    cluster.links.isolate(E);
    const second = await runTasks(
      createRunbookDispatcher(cluster.runbookDeps(U)),
      'failover',
      RUNBOOK_TASKS.failover,
      {
        region: E,
        trigger: 'test',
      },
    );
    expect((second.chooseNewHomes as { moves: Array<{ to: string }> }).moves[0]?.to).toBe(U);
    const { blocked } = second.collectCopies as { blocked: unknown[] };
    await untilWritable(second, cluster);
    // The branch retirer (retireCoreBranch) is wired: U's old branch is retired, not a reason to block.
    expect(blocked).toEqual([]);
    const log = await cluster.regions[U]!.events.loadStream('account', id);
    const row = await cluster.regions[U]!.states.getState('account', id);
    // The write E acknowledged (a majority: E and P) must be in the new home before it takes writes.
    expect(log.map((e) => e.eventId)).toContain(acked.eventId);
    expect(JSON.parse(row!.state)).toMatchObject({ balance: 6 });
    expect(await quiesceAndCheck(cluster, client, { survivors: [U, P], ids: [id] })).toEqual([]);
    const queued = await cluster.runbookDeps(U).cell(U).conflicts.listForAggregate('account', id);
    expect(queued).toEqual([expect.objectContaining({ kind: 'core-branch' })]);
  });
});
