import { GetCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import {
  cutKey,
  nextPartitionValue,
  type PartitionEntry,
  type PartitionValue,
  partitionKey,
  writeCuts,
} from '../../../lib/ownership/index.ts';
import { createApplier, createBatchApplier } from '../../../lib/replication/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import type { Cluster, RegionName } from '../routing/cluster.ts';
import { applierDeps, applierOf, failoverToC, lazyCluster, ownCopy } from './failover-cut-world.ts';
import {
  A,
  account,
  acknowledged,
  B,
  C,
  devTopology,
  failoverOfA,
  forks,
  gatedSwitchover,
  log,
  quorumTopology,
} from './late-delivery-world.ts';

/**
 * fix-finding-2 (FINDING 2 of review-cw-late-2): the replication applier must not fork a survivor from its
 * new home with a lost home's late core event. The rule, and the interleavings it was checked against:
 *
 * RULE. A Failover of lost home O writes, in CollectCopies, into every survivor it reaches (the new home
 * included) a cut `CUT#O` of each partition it fenced away from O, at the fence's epoch F (quorum ack: before
 * that survivor's seal and head read; a survivor whose cut write for a partition fails is not sealed for it).
 * The applier refuses (quarantines `SupersededByFailover`, counted by reason) a core event of origin O and
 * epoch e < F that is not in the log already, with a ConditionCheck on that item in the append's own
 * transaction (the in-order fast path, the general path, a parked event's drain, a gap fetched from O's own
 * log). Never a read before the write: a cut landing between them would be missed. Nothing about it goes in
 * a watermark (the event is not in the log; O's watermark here moves only with what is).
 *
 * WHY NOT THE REGISTER COPY (the candidate "own copy past e naming a home other than O, as the result of a
 * Failover"): a Failover's entries and a Switchover's have the same shape (fence at epoch + 1, new home at
 * epoch + 2); only the Switchover's run stamp differs, and any later change drops it. So that rule either
 * refuses a completed Switchover's tail at the third region (first test: a liveness regression, nobody but
 * the old home's stream publishes it there) or cannot tell a Failover. Hence a separate, durable item per
 * lost region, which later changes of the entry leave alone.
 *
 * INTERLEAVINGS.
 *  - Switchover A -> B, A's tail reaching C late: no Failover, no cut: applied (first test).
 *  - Failover of A -> C, A's seq 3 reaching sealed B after the cut: refused, no fork (review-cw-late-2,
 *    FINDING 2; the lane's batch applier sends core events through the per-event path: same check, test
 *    below).
 *  - the new home C receiving A's late event: C is cut like every survivor (it collected first): refused
 *    under quorum ack; under local ack (nothing collected) C takes it while its own copy of the entry names
 *    it home (review-finding-2-local-new-home.test.ts).
 *  - an event C had (from A's stream before the loss) that B lacked: A's delivery to B is refused, B gets it
 *    from its home: the next event of the aggregate parks behind the gap, the gap is fetched from C's log
 *    (a copy from another region's log than its origin's is not checked) - test below; or Repair's direct
 *    delivery (its own path, no applier).
 *  - an event already in the log (a quorum-ack copy, an earlier delivery) delivered again: duplicate, never
 *    refused (test below). Quorum copies, CollectCopies, Repair and Failback deliveries do not go through the
 *    applier at all.
 *  - Failback: A is home again at an epoch past F (every later entry is): its new events pass (boundary test
 *    below); its forked pre-Failover events stay refused (Failback retires them from A's log).
 *  - a survivor not cut (unreachable, its write failed): with local ack it applies A's late events as before
 *    (a fork Repair/Failback settles, reported in CollectCopies' `cuts.failed`); with quorum ack it is not
 *    sealed, so nothing was collected from it either.
 *  - a lane message of A that reaches B after the Failover's fence but before the cut (local ack): applied
 *    as today; a fork only if C lacks it (the RPO of core.ack local).
 * The liveness tests pass with the switch on too (it only removes the check); each fails under the
 * register-copy rule or an off-by-one of the cut's boundary, which is what they guard.
 */

const cluster = lazyCluster();

/**
 * The candidate rule as the ConditionCheck it would be, run in a real transaction against `region`'s own
 * register item: true when the event (origin, epoch) would be refused there.
 */
async function candidateRefuses(
  c: Cluster,
  region: RegionName,
  partition: number,
  event: { origin: string; epoch: number },
): Promise<boolean> {
  const { doc, tables } = c.cells[region].tables;
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: tables.control,
              Key: { pk: partitionKey(partition), sk: 'REGISTER' },
              ConditionExpression: 'attribute_not_exists(pk) OR epoch <= :e OR #v.#home = :origin',
              ExpressionAttributeNames: { '#v': 'value', '#home': 'home' },
              ExpressionAttributeValues: { ':e': event.epoch, ':origin': event.origin },
            },
          },
          {
            Put: {
              TableName: tables.control,
              Item: { pk: `TEST#finding-2#${partition}`, sk: 'PROBE', at: Date.now() },
            },
          },
        ],
      }),
    );
    return false;
  } catch (error) {
    if ((error as Error).name === 'TransactionCanceledException') return true;
    throw error;
  }
}

/** The value fields a rule could read (not epoch, ballot, activeFrom). */
const shape = (value: PartitionValue) => ({ state: value.state, reason: value.reason });

describe('fix-finding-2: the Failover’s cut and the applier', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  it('liveness: a completed Switchover’s tail reaching the third region late is applied (no cut); the register-copy rule would have refused it exactly as a Failover’s cut event', async () => {
    const c = await cluster();
    // Switchover A -> B, completed: CheckWatermark put A's seq 3 into B; C's copy of the lane message is late.
    const sw = await account(c, 'f2-sw');
    const run = gatedSwitchover(c, sw.id, 'f2');
    run.target.release();
    for (const name of ['Fence', 'CheckWatermark', 'MoveHome', 'Unfence'] as const) await run.task(name);
    const atCopyC = await ownCopy(c, C, sw.partition);
    expect(atCopyC.value.home).toBe(B);
    expect(atCopyC.epoch).toBeGreaterThan(sw.unreplicated.epoch);
    expect((await log(c, B, sw.id)).some((e) => e.eventId === sw.unreplicated.eventId)).toBe(true);

    // Failover of A -> C (another partition): B cut and sealed; A's seq 3 was never collected.
    let fo = await account(c, 'f2-fo');
    // Another partition than the Switchover's (its home is B now): ids land on 1 of 256 partitions.
    while (fo.partition === sw.partition) fo = await account(c, 'f2-fo');
    await failoverToC(c, fo.partition);
    await acknowledged(c, C, fo.id, 5);
    const atCopyB = await ownCopy(c, B, fo.partition);
    expect(atCopyB.value.home).toBe(C);
    expect(atCopyB.epoch).toBeGreaterThan(fo.unreplicated.epoch);

    // The register copies: past the event's epoch, a home other than its origin, the same fields to read.
    expect(shape(atCopyC.value)).toEqual(shape(atCopyB.value));
    expect(await candidateRefuses(c, B, fo.partition, fo.unreplicated)).toBe(true);
    expect(await candidateRefuses(c, C, sw.partition, sw.unreplicated)).toBe(true);

    // The cut tells them apart: the Switchover's tail is history, applied at C with no fork from home B ...
    const outcome = await applierOf(c, C)(structuredClone(sw.unreplicated));
    expect(outcome.status).toBe('applied');
    const [home, third] = [await log(c, B, sw.id), await log(c, C, sw.id)];
    expect(third.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(forks(home, third)).toEqual([]);
    // ... the Failover's cut event is refused at B.
    const refused = await applierOf(c, B)(structuredClone(fo.unreplicated));
    expect(refused).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
  });

  it('the run stamp (the register copy’s only difference) is no durable record: any later change of the entry drops it', () => {
    const switchedOver: PartitionEntry = {
      partition: 7,
      epoch: 5,
      ballot: 'b',
      home: B,
      state: 'active',
      activeFrom: 0,
      run: 'switchover-run',
    };
    const clock = { now: 1_000, holdMs: 500 };
    const fenced = nextPartitionValue(switchedOver, { state: 'fenced', reason: 'operator' }, clock);
    expect(fenced.run).toBeUndefined();
    const unfenced = nextPartitionValue({ ...switchedOver, ...fenced, epoch: 6 }, { state: 'active' }, clock);
    expect(unfenced).toEqual({ home: B, state: 'active', activeFrom: 1_500 });
  });

  it('liveness: an event the new home C had but B lacked is refused from A’s late delivery, then reaches B from C’s log (the gap behind C’s next event is fetched from C); B ends equal to C', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'f2-lacked');
    await c.replicate(A, C, 'account', id); // C has A's seq 3, B does not
    const collected = (await failoverToC(c, partition)).state.collectCopies as {
      cuts?: { written: string[]; failed: string[] };
    };
    expect(collected.cuts).toEqual({ written: expect.arrayContaining([B, C]), failed: [] });
    const written = await acknowledged(c, C, id, 5); // C's seq 4
    expect(written.seq).toBe(4);
    let offsetMs = 0;
    const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs) });
    // A's late delivery: refused (B cannot know C has it).
    expect(await applyB(structuredClone(unreplicated))).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
    // C's seq 4 parks behind the gap; once the gap is older than coreGapTimeoutMs it is fetched from C.
    expect((await applyB(structuredClone(written))).status).toBe('parked');
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    expect((await applyB(structuredClone(written))).status).toBe('applied');
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atC.map((e) => e.eventId));
    expect(atB[2]!.eventId).toBe(unreplicated.eventId);
  });

  it('a gap fetched from the lost home’s own log after the cut: its missing event is refused (quarantined), the parked successor stays parked; with applier-ignores-failover-cut both land and B forks from C', async () => {
    const c = await cluster();
    const run = async (prefix: string) => {
      const { id, partition, unreplicated } = await account(c, prefix);
      const successor = await acknowledged(c, A, id, 7); // A's seq 4
      let offsetMs = 0;
      const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs) });
      expect((await applyB(structuredClone(successor))).status).toBe('parked'); // before the loss
      await failoverToC(c, partition);
      await acknowledged(c, C, id, 5); // C's seq 3
      offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
      // A answers again (not failed back): the gap behind A's seq 4 is fetched from A's own log.
      const again = await applyB(structuredClone(successor));
      return { id, unreplicated, again };
    };
    const fixed = await run('f2-fetch');
    expect(fixed.again.status).toBe('parked');
    const atB = await log(c, B, fixed.id);
    expect(atB.map((e) => e.seq)).toEqual([1, 2]);
    const { doc, tables } = c.cells[B].tables;
    const held = await doc.send(
      new ScanCommand({
        TableName: tables.quarantine,
        FilterExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': fixed.unreplicated.eventId },
      }),
    );
    expect(held.Items?.map((q) => q.reason)).toEqual(['SupersededByFailover']);

    const bug = await withBug('applier-ignores-failover-cut', () => run('f2-fetch-bug'));
    expect(bug.again.status).toBe('applied');
    expect(forks(await log(c, C, bug.id), await log(c, B, bug.id))).toEqual([3]);
  });

  it('quorum ack: CollectCopies cuts every survivor before sealing and collecting; the new home C itself refuses A’s late seq 3 it never collected', async () => {
    const c = await cluster();
    const { partition, unreplicated } = await account(c, 'f2-quorum');
    const fo = failoverOfA(c, partition, { to: C, topology: quorumTopology });
    c.links.isolate(A);
    try {
      for (const name of RUNBOOK_TASKS.failover) await fo.task(name);
    } finally {
      c.links.heal();
    }
    expect(fo.state.collectCopies).toMatchObject({ partitions: 1, blocked: [] });
    for (const region of [B, C]) {
      const { doc, tables } = c.cells[region].tables;
      const cut = await doc.send(new GetCommand({ TableName: tables.control, Key: cutKey(partition, A) }));
      expect(cut.Item?.epoch).toBeGreaterThan(unreplicated.epoch);
    }
    // The applier as a quorum-ack cell wires it (under local ack the home takes a cut event: review-finding-2).
    const applyC = createApplier({ ...applierDeps(c, C), topology: quorumTopology });
    expect(await applyC(structuredClone(unreplicated))).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
  });

  it('liveness: an event already in the survivor’s log (a quorum-ack copy, an earlier delivery) delivered again after the cut is a duplicate, not refused', async () => {
    const c = await cluster();
    const { id, partition } = await account(c, 'f2-dup');
    await failoverToC(c, partition);
    const [, second] = await log(c, B, id);
    expect(second!.origin).toBe(A);
    expect((await applierOf(c, B)(structuredClone(second))).status).toBe('duplicate');
  });

  it('the cut’s boundary: an event of the lost home at the cut’s epoch or later (A home again after a Failback) is applied; one below it is refused', async () => {
    const c = await cluster();
    const { doc, tables } = c.cells[B].tables;
    const below = await account(c, 'f2-below');
    await writeCuts({ client: doc, control: tables.control }, [
      { partition: below.partition, region: A, epoch: below.unreplicated.epoch + 1 },
    ]);
    expect(await applierOf(c, B)(structuredClone(below.unreplicated))).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
    let at = await account(c, 'f2-at');
    while (at.partition === below.partition) at = await account(c, 'f2-at');
    await writeCuts({ client: doc, control: tables.control }, [
      { partition: at.partition, region: A, epoch: at.unreplicated.epoch },
    ]);
    expect((await applierOf(c, B)(structuredClone(at.unreplicated))).status).toBe('applied');
  });

  it('the lane: a core event in a lane batch goes through the per-event path and is refused past the cut (and taken with applier-ignores-failover-cut)', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'f2-lane');
    await failoverToC(c, partition);
    await acknowledged(c, C, id, 5);
    const body = JSON.stringify({ detail: unreplicated });
    const lane = createBatchApplier(applierDeps(c, B));
    const report = await lane([{ id: 'm1', body }]);
    expect(report.failed).toEqual([]);
    expect(report.outcomes[0]?.outcome).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
    const bug = await withBug('applier-ignores-failover-cut', () => lane([{ id: 'm2', body }]));
    expect(bug.outcomes[0]?.outcome.status).toBe('applied');
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([3]);
  });
});
