import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { movePartition } from '../../../lib/runbooks/index.ts';
import { type Cluster, sleep } from '../routing/cluster.ts';
import { applierOf, failoverToC, lazyCluster } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, forks, log } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * review-finding-2 (adversarial review of fix-finding-2), `core.ack: local`.
 *
 * Under local ack a Failover collects nothing: the new home C starts from whatever of A's history reached
 * it. fix-finding-2 cuts C too, and C's applier refused a cut event like any survivor's (CollectCopies writes CUT#A into every survivor, the new home included).
 * Interleaving: A's acknowledged seq 3 reached survivor B (its stream delivery landed before the loss) but
 * not yet C; A is lost; Failover A -> C (B and C cut); A's delivery of seq 3 reaches C late, BEFORE C's
 * first write to the aggregate. Before the cut C applied it and every region converged on [1, 2, A's 3, C's
 * 4]. With the cut C refuses it (quarantined SupersededByFailover), so C's next acknowledged write takes
 * seq 3, and that write, delivered to B, meets B's A-seq-3: a fencing violation. B is now forked from its
 * home for good (until Repair or Failback), and the acknowledged write B held is dropped from the home's
 * history although it reached the new home in time. The cut turned a convergent interleaving into a
 * certain fork: the fork the fix set out to remove, moved from "late event after the home's write" to "late
 * event at the new home, before its write".
 */

const cluster = lazyCluster();

describe('review-finding-2: local ack, the new home cut', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  const scenario = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix);
    await c.replicate(A, B, 'account', id); // B applied A's seq 3 before the loss; C has not yet
    await failoverToC(c, partition);
    // A's delivery of seq 3 reaches the new home late, before C writes to the account.
    const late = await applierOf(c, C)(structuredClone(unreplicated));
    const written = await acknowledged(c, C, id, 5);
    const atB = await applierOf(c, B)(structuredClone(written));
    return { id, unreplicated, late, atB };
  };

  it('FINDING (fixed): A’s seq 3, held by survivor B, reaching new home C before C’s first write, is applied at C (cut, but its applier takes a cut event while its own copy of the entry names it home, under local ack); C’s write is seq 4 and B stays on C’s branch', async () => {
    const c = await cluster();
    const { id, unreplicated, late, atB } = await scenario(c, 'r2-local');
    expect(atB.status).toBe('applied');
    const [home, survivor] = [await log(c, C, id), await log(c, B, id)];
    // What must hold: B never forks from its home, and the write B held is in the home's history.
    expect({ late: late.status, forks: forks(home, survivor) }).toEqual({ late: 'applied', forks: [] });
    expect(home.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
  });

  it('FINDING with home-refuses-cut-events: C refuses A’s late seq 3 (quarantined), its own write takes seq 3 and B, which held A’s seq 3, is forked from its home', async () => {
    const c = await cluster();
    const { id, unreplicated, late, atB } = await withBug('home-refuses-cut-events', () =>
      scenario(c, 'r2-local-cut-home'),
    );
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atB.status).toBe('quarantined'); // C's seq 3 meets B's A-seq-3: a fencing violation
    const [home, survivor] = [await log(c, C, id), await log(c, B, id)];
    expect(forks(home, survivor)).toEqual([3]);
    expect(home.some((e) => e.eventId === unreplicated.eventId)).toBe(false);
  });

  it('the other survivor stays cut: A’s late seq 3 reaching B (which lacked it) after the Failover is refused there; C (the home) applies it; B lacks it but never forks (the gap fetch from C’s log is finding-2-cut’s test)', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'r2-local-b');
    await failoverToC(c, partition);
    expect(await applierOf(c, B)(structuredClone(unreplicated))).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
    expect((await applierOf(c, C)(structuredClone(unreplicated))).status).toBe('applied');
    const [home, survivor] = [await log(c, C, id), await log(c, B, id)];
    expect(home.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(forks(home, survivor)).toEqual([]);
  });

  it('the cut holds at the new home once the partition moved on: C (home no more) refuses A’s late seq 3, B’s own seq 3 applies at C; with local-failover-skips-new-home-cut C takes it, ahead of its home B, and B’s seq 3 forks C', async () => {
    const c = await cluster();
    const run = async (prefix: string) => {
      const { id, partition, unreplicated } = await account(c, prefix);
      await failoverToC(c, partition);
      await movePartition(clusterRunbookDeps(c, B), { partition, from: C, to: B });
      const late = await applierOf(c, C)(structuredClone(unreplicated));
      let written = await (async () => {
        for (let i = 0; i < 40; i++) {
          const at = await log(c, B, id);
          const answered = await acknowledged(c, B, id, 5).catch(() => undefined);
          if (answered && answered.seq > at.length) return answered;
          await sleep(100);
        }
        throw new Error('B never took the write');
      })();
      written = structuredClone(written);
      const atC = await applierOf(c, C)(written);
      return { id, late, atC };
    };
    const now = await run('r2-local-moved');
    expect(now.late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(now.atC.status).toBe('applied');
    expect(forks(await log(c, B, now.id), await log(c, C, now.id))).toEqual([]);
    const uncut = await withBug('local-failover-skips-new-home-cut', () => run('r2-local-moved-uncut'));
    expect(uncut.late.status).toBe('applied');
    expect(uncut.atC.status).toBe('quarantined');
    expect(forks(await log(c, B, uncut.id), await log(c, C, uncut.id))).toEqual([3]);
  });

  it('control: with applier-ignores-failover-cut the same interleaving converges (C applies A’s seq 3, writes seq 4, B equals C)', async () => {
    const c = await cluster();
    const { id, late, atB } = await withBug('applier-ignores-failover-cut', () =>
      scenario(c, 'r2-local-bug'),
    );
    expect(late.status).toBe('applied');
    expect(atB.status).toBe('applied');
    const [home, survivor] = [await log(c, C, id), await log(c, B, id)];
    expect(survivor.map((e) => e.eventId)).toEqual(home.map((e) => e.eventId));
  });
});
