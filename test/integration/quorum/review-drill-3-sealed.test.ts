import { describe, expect, it } from 'vitest';
import { decodeHlc, encodeHlc } from '../../../lib/clock/hlc.ts';
import { coreBranchRetirer } from '../../../lib/commands/branch-retirer.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { DynamoControlReplica } from '../../../lib/ownership/dynamodb-replica.ts';
import { partitionKey } from '../../../lib/ownership/partition-map.ts';
import { cellPeer } from '../../../lib/runbooks/collect-copies.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { expectStatus } from '../../support/answers.ts';
import { AccountClient } from './clients.ts';
import { REGIONS_3, runFailover, runTasks, startQuorumCluster, untilWritable } from './quorum-cluster.ts';

const U = 'us-east-1';
const E = 'eu-west-1';
const P = 'ap-southeast-1';

/**
 * (Scenario copied from collection-retire-sealed.test.ts.) Review of issue 11 (quorum ack, 3 regions): Failover's collection retires the new home's own events that
 * are off the collected run (`not-collected-at-failover`) from a read made earlier. If that retire runs late
 * (the collecting Lambda frozen and thawed), a later Failover may have sealed the new home past this epoch,
 * collected those very events and had an acknowledged write W copied on top of them in the new home's log;
 * deleting them then leaves W without its predecessor (a later collection drops it). The interleaving is
 * driven through the retirer hook: right before the retire, U's copy of the map is sealed at a later epoch
 * (as that Failover's seal does) and W, of that epoch, is copied onto the losing event (as its quorum ack
 * does). Correct outcome: the retire is refused (the seal check of the collection's epoch), the partition
 * stays blocked for this Failover, and U's log keeps both events.
 */
/**
 * Review 3 of i17-drill (9361eff, the atomic retire's "an event found on top is queued and retired with the
 * branch"), on the scenario of collection-retire-sealed.test.ts: a later Failover sealed U and had its
 * acknowledged write W copied on top of the event U's late collection retires. The seal refuses the chunk
 * (right), but before the transaction the retire read W above the branch (not in its `winning`, the run
 * collected earlier) and queued it: W, acknowledged under the later epoch and still in U's log, now has an
 * open core-branch record ("retired, lost") in every queue the collection reached. An operator acting on it
 * re-applies an acknowledged write. Guarantee attacked: an event the home acknowledged is never put in the
 * manual queue as a loser.
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3);
  const client = new AccountClient(cluster);
  const id = `rv-thaw-${Date.now().toString(36)}`;
  expect(await client.send(U, 'open', id)).toBe(200);
  expect(await client.send(U, 'deposit', id, 1)).toBe(200);
  for (const r of [E, P]) await cluster.replicate(U, r, 'account', id);
  // U's deposit 100 stays in U's log only (503): the event U's later collection finds off the run.
  cluster.links.cutCopies(U, E);
  cluster.links.cutCopies(U, P);
  expect(await client.send(U, 'deposit', id, 100)).toBe(503);
  cluster.links.heal();
  cluster.links.isolate(U);
  await untilWritable(await runFailover(cluster, E, U), cluster);
  expectStatus(await client.answer(E, 'deposit', id, 5), 200);
  cluster.links.heal();
  cluster.links.isolate(E);

  // U collects as the new home of E's partitions; its retire of deposit 100 runs after a later epoch came.
  const deps = cluster.runbookDeps(U);
  const cells = [U, P].map((r) => deps.cell(r)); // the regions the collection reaches (E is lost)
  const realRetire = coreBranchRetirer((type) => deps.registry.get(type), cells);
  let interleaved: { orphanId: string; laterId: string } | undefined;
  const hooked: RunbookDeps = {
    ...deps,
    retireBranch: (cell) => async (input) => {
      const orphan = input.losing.at(-1);
      if (cell.region === U && orphan && !interleaved) {
        const { client: doc, control: tableName } = cell.tables;
        const control = new DynamoControlReplica({ region: U, client: doc, tableName });
        const key = partitionKey(orphan.partition);
        const entry = (await control.read(key))!;
        const later = entry.epoch + 4;
        await control.writeMany([{ key, record: { ...entry, epoch: later, ballot: entry.ballot + 4 } }]);
        const w = {
          ...orphan,
          eventId: `${orphan.eventId}-later`,
          seq: orphan.seq + 1,
          prev: orphan.hlc,
          hlc: encodeHlc({ ...decodeHlc(orphan.hlc), wall: cluster.clock.now(), region: P }),
          epoch: later,
          origin: P,
          payload: { amount: 7 },
        };
        expect(await cellPeer(hooked, U).copy([w], { epoch: later })).toEqual({ kind: 'stored' });
        interleaved = { orphanId: orphan.eventId, laterId: w.eventId };
      }
      await realRetire(cell)(input);
    },
  };
  const run = createRunbookDispatcher(hooked);
  const state = await runTasks(run, 'failover', RUNBOOK_TASKS.failover, { region: E, trigger: 'test' });
  const log = await cluster.regions[U]!.events.loadStream('account', id);
  const orphans = new Map<string, string[]>();
  for (const r of [U, P]) {
    const records = await deps.cell(r).conflicts.listForAggregate('account', id);
    orphans.set(
      r,
      records
        .filter((rec) => rec.status !== 'resolved')
        .map(
          (rec) =>
            (rec as unknown as { versions?: { orphan?: { eventId: string } } }).versions?.orphan?.eventId ??
            '?',
        ),
    );
  }
  return { state, interleaved, ids: log.map((e) => e.eventId), orphans };
}

describe('review 3: a late collection retire refused by the seal', { timeout: 180_000 }, () => {
  it("leaves no open record for the events it found still logged (the later epoch's write on top, the one under it)", async () => {
    const { interleaved, ids, orphans } = await scenario();
    expect(interleaved).toBeDefined();
    expect(ids).toContain(interleaved!.laterId);
    expect(ids).toContain(interleaved!.orphanId);
    const queued = [...orphans.values()].flat();
    expect({
      later: queued.includes(interleaved!.laterId),
      under: queued.includes(interleaved!.orphanId),
    }).toEqual({ later: false, under: false });
  });

  it("with sealed-retire-keeps-records, the later epoch's acknowledged write stays queued as a loser in U and P", async () => {
    const { interleaved, ids, orphans } = await withBug('sealed-retire-keeps-records', scenario);
    expect(ids).toContain(interleaved!.laterId);
    expect({
      atU: orphans.get(U)!.includes(interleaved!.laterId),
      atP: orphans.get(P)!.includes(interleaved!.laterId),
    }).toEqual({ atU: true, atP: true });
  });

  it('control: with retire-one-event-at-a-time (the retire before 9361eff), W is in no queue', async () => {
    const { interleaved, ids, orphans } = await withBug('retire-one-event-at-a-time', scenario);
    expect(ids).toContain(interleaved!.laterId);
    expect([...orphans.values()].flat()).not.toContain(interleaved!.laterId);
  });
});
