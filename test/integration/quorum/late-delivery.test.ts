import { describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import { PeerRefusedError, retireCoreBranch } from '../../../lib/commands/index.ts';
import { expectStatus } from '../../support/answers.ts';
import { quiesceAndCheck } from './clients.ts';
import { HOLDER, lateDelivery, NEW_HOME } from './late-delivery.ts';
import { payloads } from './quorum-cluster.ts';

/**
 * Found by an adversarial review (issue 11, item 6: a copy on a survivor other than the new home must not
 * block the partition with 409s/503s until a nightly repair). Interleaving: HOME takes deposit 10, whose
 * copies fail (503, never acknowledged); HOME is lost; the Failover moves the partition to NEW_HOME, whose
 * collection finds nothing at HOLDER; only then does the bus deliver HOME's deposit to HOLDER's applier,
 * which appends it at seq 2 (HOME's old epoch). NEW_HOME's quorum copies to HOLDER then found another
 * branch and, the API's peers having no branch retirer, threw PeerDivergedError: with HOME lost, no
 * majority, and every write of the aggregate answered 503 until a Repair or Failback. Now the copy retires
 * HOLDER's branch, every event of which is of an epoch before the writer's (so never acknowledged), into
 * HOLDER's and NEW_HOME's conflict queues, and stores the new home's write.
 */
describe("a lost home's unacknowledged write delivered to a survivor after the Failover's collection", {
  timeout: 180_000,
}, () => {
  it('does not block the new home: its copy retires the old-epoch branch into the conflict queues', async () => {
    const { cluster, client, id } = await lateDelivery([10]);
    const delivered = await cluster.regions[HOLDER]!.events.loadStream('account', id);
    expect(payloads(delivered).slice(1)).toEqual([{ amount: 10 }]);
    const orphan = delivered[1]!;

    expectStatus(await client.answer(NEW_HOME, 'deposit', id, 5), 200);
    expectStatus(await client.answer(NEW_HOME, 'deposit', id, 7), 200);

    const holderLog = await cluster.regions[HOLDER]!.events.loadStream('account', id);
    expect(payloads(holderLog).slice(1)).toEqual([{ amount: 5 }, { amount: 7 }]);
    const anomalies = await quiesceAndCheck(cluster, client, { survivors: [NEW_HOME, HOLDER], ids: [id] });
    const queued = (await cluster.snapshots([NEW_HOME, HOLDER])).map((snapshot) => ({
      region: snapshot.region,
      retired: (snapshot.conflicts ?? [])
        .filter((c) => c.kind === 'core-branch' && c.eventIds.includes(orphan.eventId))
        .map((c) => c.events.find((e) => e.eventId === orphan.eventId)?.payload),
    }));
    expect({ anomalies: anomalies.map((a) => `${a.checker}/${a.kind}@${a.region ?? ''}`), queued }).toEqual({
      anomalies: [],
      queued: [
        { region: NEW_HOME, retired: [{ amount: 10 }] },
        { region: HOLDER, retired: [{ amount: 10 }] },
      ],
    });
  });

  // A stale writer's retire that runs late (a Lambda frozen mid-copy and thawed after the next Failover,
  // a copy outliving its timeout) must not take out what that Failover may have collected: each delete is
  // one transaction with the seal check of the peer's partition entry, as a copy is.
  it("deletes nothing for a writer the peer is sealed against; the current home's retire goes through", async () => {
    const { cluster, id } = await lateDelivery([10]);
    const account = exampleAggregates.find((a) => a.name === 'account')!;
    const holder = cluster.runbookDeps(NEW_HOME).cell(HOLDER);
    const [open, orphan] = await holder.events.loadStream('account', id);
    const entry = await cluster.regions[NEW_HOME]!.multi.map.read(orphan!.partition);
    expect(entry!.epoch).toBeGreaterThan(orphan!.epoch);
    const retire = (epoch: number) =>
      retireCoreBranch({
        cell: holder,
        queues: [holder.conflicts],
        aggregate: account,
        losing: [orphan!],
        winning: [open!],
        reason: 'quorum-copy-on-another-branch',
        writer: { epoch },
      });

    await expect(retire(orphan!.epoch + 1)).rejects.toBeInstanceOf(PeerRefusedError);
    expect(payloads(await holder.events.loadStream('account', id)).slice(1)).toEqual([{ amount: 10 }]);

    const done = await retire(entry!.epoch);
    expect(done.retired.map((e) => e.eventId)).toEqual([orphan!.eventId]);
    expect(await holder.events.loadStream('account', id)).toHaveLength(1);
    expect(done.row).toMatchObject({ seq: 1, head: open!.hlc });
  });
});
