import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { movePartition } from '../../../lib/runbooks/index.ts';
import { type Cluster, command, deposit, sleep } from '../routing/cluster.ts';
import { applierOf, lazyCluster, wholeFailoverToC } from './failover-cut-world.ts';
import { A, account, B, C, devTopology, log } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * review-finding-2 (adversarial review of fix-finding-2): the lost home is home AGAIN (Failback, or any move
 * back to it at an epoch past the cut), and a survivor lacks one of its pre-cut events that the new home's
 * history kept.
 *
 * Interleaving (local ack): A's seq 3 reaches C but not B; Failover A -> C cuts B (A's late seq 3 to B is
 * refused there, correctly: B cannot tell); C never writes the account; A returns and is made home again at
 * epoch H > cut (the Failback's switch-back: A's log is the home's history, seq 3 included). A writes seq 4
 * at epoch H; at B it parks behind the gap at 3, which is fetched from A's log. Seq 3 read there has origin =
 * source = A and epoch below the cut: refused (quarantined SupersededByFailover), so seq 4 and every later
 * event of A on the account park at B for good (until the nightly Repair), although seq 3 is the
 * predecessor A's epoch-H event names (its `prev`): the home's history past the cut vouches for it.
 * Before the cut the fetch appended it.
 */

const cluster = lazyCluster();

/** A write acknowledged by A once its new lease lets it (the move's hold), its log's last event. */
async function writtenAtA(c: Cluster, id: string) {
  for (let i = 0; i < 40; i++) {
    if ((await command(c.cells[A], 'account', id, deposit(9))).status === 200)
      return (await log(c, A, id)).at(-1)!;
    await sleep(100);
  }
  throw new Error('A never took the write');
}

describe('review-finding-2: the lost home home again, a survivor lacking its pre-cut event', {
  timeout: 120_000,
}, () => {
  afterEach(() => {
    disableAllBugs();
  });

  const scenario = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix); // A's seq 3 only in A
    await c.replicate(A, C, 'account', id); // C has it, B does not (A's bus message to B is lost)
    await wholeFailoverToC(c, partition);
    let offsetMs = 0;
    const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs) });
    // A home again past the cut (the Failback's switch-back; C never wrote the account).
    await movePartition(clusterRunbookDeps(c, B), { partition, from: C, to: A });
    const fourth = await writtenAtA(c, id);
    expect(fourth.seq).toBe(4);
    expect(fourth.epoch).toBeGreaterThan(unreplicated.epoch + 1);
    expect((await applyB(structuredClone(fourth))).status).toBe('parked');
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    const again = await applyB(structuredClone(fourth));
    return { id, again };
  };

  it('FINDING (fixed): A’s epoch-H seq 4 parked at B vouches for its predecessor seq 3 read from A’s log (checked against the cut at epoch H): B converges on A', async () => {
    const c = await cluster();
    const { id, again } = await scenario(c, 'r2-again');
    expect(again.status).toBe('applied');
    const [atB, atA] = [await log(c, B, id), await log(c, A, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atA.map((e) => e.eventId));
  });

  it('FINDING with gap-fetch-ignores-voucher: seq 3 read from A’s log is refused at its own epoch (quarantined SupersededByFailover), A’s seq 4 stays parked', async () => {
    const c = await cluster();
    const { id, again } = await withBug('gap-fetch-ignores-voucher', () => scenario(c, 'r2-again-novoucher'));
    expect(again.status).toBe('parked');
    expect((await log(c, B, id)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('the voucher does not pass a lost home’s event below the cut: A not home again, its seq 4 (epoch below the cut) parked at B, the gap read from A’s log is still refused', async () => {
    const c = await cluster();
    const { id, partition } = await account(c, 'r2-again-stale');
    const fourth = await (async () => {
      expect((await command(c.cells[A], 'account', id, deposit(9))).status).toBe(200);
      return (await log(c, A, id)).at(-1)!;
    })();
    let offsetMs = 0;
    const applyB = applierOf(c, B, { now: () => new Date(Date.now() + offsetMs) });
    expect((await applyB(structuredClone(fourth))).status).toBe('parked');
    await wholeFailoverToC(c, partition);
    offsetMs = devTopology.thresholds.coreGapTimeoutMs + 1_000;
    expect((await applyB(structuredClone(fourth))).status).toBe('parked');
    expect((await log(c, B, id)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('control: with applier-ignores-failover-cut B converges on A', async () => {
    const c = await cluster();
    const { id, again } = await withBug('applier-ignores-failover-cut', () => scenario(c, 'r2-again-bug'));
    expect(again.status).toBe('applied');
    const [atB, atA] = [await log(c, B, id), await log(c, A, id)];
    expect(atB.map((e) => e.eventId)).toEqual(atA.map((e) => e.eventId));
  });
});
