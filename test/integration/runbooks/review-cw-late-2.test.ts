import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { Topology } from '../../../lib/config/index.ts';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { DynamoControlReplica, type PartitionValue, partitionKey } from '../../../lib/ownership/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { type Cluster, sleep } from '../routing/cluster.ts';
import { applierOf, lazyCluster, ownCopy } from './failover-cut-world.ts';
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
 * Second adversarial review of the sealed direct delivery (Switchover's CheckWatermark checks, in each core
 * append, that the target's own copy of the partition's entry is not past the fence's epoch; switch
 * `switchover-delivery-unsealed`). A = old home, B = the switchover's target, C = the third region; an
 * account with seq 1-2 everywhere and seq 3 (X) only in A.
 *
 * FINDING 1 (LOW-MEDIUM, fixed here): a Failover that found the partition fenced by the Switchover took that
 * fence as its own (partition-moves.ts nextStep: fenced + home = lost -> 'rehome', no epoch + 1), so its
 * CollectCopies sealed B by writing the very entry the Switchover committed, at the fence's epoch. The
 * delivery's check (`epoch <= fencedEpoch`) could not tell that seal from the Switchover's own fence: a
 * CheckWatermark invocation still running when CollectCopies sealed and collected B put X into B. Only
 * BumpEpochs' change reaching B's copy refused it (review-checkwatermark-late's tests release the delivery
 * after the whole Failover). Now FencePartitions fences a run-stamped fence again, at epoch + 1 (switch
 * `failover-keeps-switchover-fence`: the old rule).
 *
 * FINDING 2 (same harm, other path; fixed by fix-finding-2): the replication applier checked no seal at all:
 * A's seq 3 applied at B by a late lane message after a Failover to C (B's copy past the fence's epoch, C's
 * acknowledged seq 3 not yet at B) forked B from its home exactly as the unsealed delivery did. Now the
 * Failover's CollectCopies writes a cut of A's history into every survivor (lib/ownership/failover-cut.ts)
 * and every core append of the applier condition-checks it in its own transaction: the event is
 * quarantined `SupersededByFailover` (switch `applier-ignores-failover-cut`: the old behaviour). The
 * liveness cases are in finding-2-cut.test.ts.
 *
 * Liveness: a target whose copy was never written (or lags below the fence) takes the delivery; one that
 * holds an uncommitted proposal past the fence (only a competing proposer that read the committed fence can
 * make one) refuses it (`sealed`), and the partition waits for the pipeline or the task rolls back: LOW,
 * such a proposer (a takeover, a Failover, a contention supersede) also makes MoveHome's compare-and-set
 * lose. Failback's switch-back does not deliver directly (`direct: false`), so it is never refused.
 */

const cluster = lazyCluster();

/** A Failover of A (unreachable), run task by task from C's deps, the partition's new home C. */
const failover = (c: Cluster, partition: number, topology: Topology = devTopology) =>
  failoverOfA(c, partition, { to: C, topology });

describe('review 2: the sealed direct delivery', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  /**
   * Fence; CheckWatermark reads A's head and stalls before its append into B; a Failover of A (to C) runs
   * ConfirmRegionLost .. CollectCopies (B sealed and collected); the delivery goes on; then BumpEpochs and
   * C's acknowledged write at seq 3.
   */
  async function sealedThenDelivered(c: Cluster, prefix: string) {
    const { id, partition, unreplicated } = await account(c, prefix);
    const sw = gatedSwitchover(c, id, 'late2');
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    const fo = failover(c, partition, quorumTopology);
    const check = sw.task('CheckWatermark').catch((error: Error) => error);
    await sw.target.reached;
    c.links.isolate(A);
    let collected: Record<string, unknown>;
    try {
      for (const name of ['ConfirmRegionLost', 'ChooseNewHomes', 'FencePartitions'] as const)
        await fo.task(name);
      collected = await fo.task('CollectCopies');
    } finally {
      sw.target.release();
    }
    const answer = await check;
    // The Failover sealed B and collected from it (nothing blocked), with the Switchover's own entry.
    expect(collected).toMatchObject({ partitions: 1, blocked: [] });
    expect(collected.skipped).toBeUndefined();
    const sealedAt = await ownCopy(c, B, partition);
    try {
      await fo.task('BumpEpochs');
    } finally {
      c.links.heal();
    }
    const { moved, writableFrom } = fo.state.bumpEpochs as {
      moved: Array<{ home: string; epoch: number }>;
      writableFrom: number;
    };
    expect(moved).toEqual([expect.objectContaining({ home: C })]);
    await sleep(Math.max(0, writableFrom - Date.now()) + 50);
    const written = await acknowledged(c, C, id, 5);
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atC.some((e) => e.eventId === written.eventId)).toBe(true);
    return { answer, move: move!, sealedAt, atB, atC, unreplicated };
  }

  it('FINDING 1 (fixed): the Failover fences the Switchover’s fence again (epoch + 1) before it seals B; a delivery still running after CollectCopies is refused (sealed), B stays on C’s branch', async () => {
    const c = await cluster();
    const { answer, move, sealedAt, atB, atC, unreplicated } = await sealedThenDelivered(c, 'late2-seal');
    expect(sealedAt.epoch).toBeGreaterThan(move.fencedEpoch);
    expect(answer).not.toBeInstanceOf(Error);
    const [check] = (answer as { partitions: Array<{ delivered?: number; refused?: unknown[] }> }).partitions;
    expect(check).toMatchObject({
      delivered: 0,
      refused: [expect.objectContaining({ eventId: unreplicated.eventId, reason: 'sealed' })],
    });
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
    expect(forks(atC, atB)).toEqual([]);
  });

  it('FINDING 1 with failover-keeps-switchover-fence: the Failover seals B at the fence’s own epoch; the delivery after CollectCopies puts X into B, which forks from C’s acknowledged seq 3', async () => {
    const c = await cluster();
    const { answer, move, sealedAt, atB, atC, unreplicated } = await withBug(
      'failover-keeps-switchover-fence',
      () => sealedThenDelivered(c, 'late2-seal-bug'),
    );
    expect(sealedAt.epoch).toBe(move.fencedEpoch);
    expect(answer).not.toBeInstanceOf(Error);
    const [check] = (answer as { partitions: Array<{ delivered?: number }> }).partitions;
    expect(check).toMatchObject({ delivered: 1 });
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
    expect(forks(atC, atB)).toEqual([3]);
  });

  /**
   * The lane's late message for A's seq 3 reaching B after a whole Failover of A to C (B's copy past the
   * fence's epoch, C's acknowledged seq 3 not yet at B): what B's applier does with it.
   */
  async function lateAfterFailover(c: Cluster, prefix: string) {
    const { id, partition, unreplicated } = await account(c, prefix);
    const sw = gatedSwitchover(c, id, 'late2');
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    sw.target.release();
    const fo = failover(c, partition);
    c.links.isolate(A);
    try {
      for (const name of RUNBOOK_TASKS.failover) await fo.task(name);
    } finally {
      c.links.heal();
    }
    const { writableFrom } = fo.state.bumpEpochs as { writableFrom: number };
    await sleep(Math.max(0, writableFrom - Date.now()) + 50);
    const written = await acknowledged(c, C, id, 5);
    expect((await ownCopy(c, B, partition)).epoch).toBeGreaterThan(move!.fencedEpoch);
    // A's lane message for seq 3, late (its region was lost before the bus delivered it).
    const outcome = await applierOf(c, B, { originReader: false })(structuredClone(unreplicated));
    const [atB, atC] = [await log(c, B, id), await log(c, C, id)];
    expect(atC.some((e) => e.eventId === written.eventId)).toBe(true);
    return { outcome, atB, atC, unreplicated, collected: fo.state.collectCopies as Record<string, unknown> };
  }

  it('FINDING 2 (fixed): the applier at B refuses A’s late seq 3 after a Failover to C cut A’s history there (quarantined SupersededByFailover, in its transaction); B stays on C’s branch', async () => {
    const c = await cluster();
    const { outcome, atB, atC, unreplicated, collected } = await lateAfterFailover(c, 'late2-lane');
    expect(collected.cuts).toEqual({ written: expect.arrayContaining([B, C]), failed: [] });
    expect(outcome).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
    expect(forks(atC, atB)).toEqual([]);
    // Kept where quarantined events are visible, with the reason.
    const { doc, tables } = c.cells[B].tables;
    const held = await doc.send(
      new ScanCommand({
        TableName: tables.quarantine,
        FilterExpression: 'eventId = :id',
        ExpressionAttributeValues: { ':id': unreplicated.eventId },
      }),
    );
    expect(held.Items?.map((q) => q.reason)).toEqual(['SupersededByFailover']);
  });

  it('FINDING 2 with applier-ignores-failover-cut: the lane’s applier at B takes A’s seq 3 after the Failover to C and forks B from C’s acknowledged seq 3', async () => {
    const c = await cluster();
    const { outcome, atB, atC, unreplicated } = await withBug('applier-ignores-failover-cut', () =>
      lateAfterFailover(c, 'late2-lane-bug'),
    );
    expect(outcome.status).toBe('applied');
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
    expect(forks(atC, atB)).toEqual([3]);
  });

  /** Liveness: Fence, then B's own copy of the entry set by `prepare`, then one CheckWatermark (not gated). */
  async function checkWithCopy(
    c: Cluster,
    prefix: string,
    prepare: (p: number, epoch: number) => Promise<void>,
  ) {
    const { id, partition, unreplicated } = await account(c, prefix);
    const sw = gatedSwitchover(c, id, 'late2');
    sw.target.release();
    const fence = await sw.task('Fence');
    const [move] = fence.moves as Array<{ fencedEpoch: number }>;
    await prepare(partition, move!.fencedEpoch);
    const answer = await sw.task('CheckWatermark');
    const [check] = (answer as { partitions: Array<Record<string, unknown>> }).partitions;
    return { check: check!, atB: await log(c, B, id), unreplicated };
  }

  it('liveness: a target whose copy of the entry was never written (or lags below the fence) takes the delivery', async () => {
    const c = await cluster();
    const { doc, tables } = c.cells[B].tables;
    const { check, atB, unreplicated } = await checkWithCopy(c, 'late2-nocopy', async (p) => {
      await doc.send(
        new DeleteCommand({ TableName: tables.control, Key: { pk: partitionKey(p), sk: 'REGISTER' } }),
      );
    });
    expect(check).toMatchObject({ delivered: 1, missing: 0, sourceFenced: true });
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
  });

  it('liveness (LOW): a target holding an uncommitted proposal past the fence (a competing run that reached only it) refuses the delivery (sealed): the partition waits for the pipeline or rolls back', async () => {
    const c = await cluster();
    const { doc, tables } = c.cells[B].tables;
    const own = new DynamoControlReplica({ region: B, client: doc, tableName: tables.control });
    const { check, atB, unreplicated } = await checkWithCopy(c, 'late2-stray', async (p, epoch) => {
      const value: PartitionValue = { home: C, state: 'fenced', activeFrom: 0, reason: 'operator' };
      expect(await own.write(partitionKey(p), { epoch: epoch + 1, ballot: 'stray', value })).toBe(true);
    });
    expect(check).toMatchObject({
      delivered: 0,
      missing: 1,
      refused: [expect.objectContaining({ eventId: unreplicated.eventId, reason: 'sealed' })],
    });
    expect(atB.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
  });
});
