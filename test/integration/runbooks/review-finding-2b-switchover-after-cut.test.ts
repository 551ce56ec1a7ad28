import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs } from '../../../lib/faults/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { sleep } from '../routing/cluster.ts';
import { applierOf, failoverToC, lazyCluster } from './failover-cut-world.ts';
import { account, acknowledged, B, C, forks, log, stepped } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * review-finding-2b, `core.ack: local`: a cut event the new home C took (homeTakesCut) while survivor B
 * refused it (quarantined SupersededByFailover), then a Switchover C -> B right after, before C writes to
 * the aggregate again. Does B, the new home, hold C's history (A's seq 3) before its first write?
 * Checked safe: CheckWatermark's direct delivery (no cut check: the old home's log is the home's history)
 * puts A's seq 3 into B (delivered: 1) before MoveHome, and C takes B's seq 4. (A raw register move,
 * movePartition, as review-finding-2-local-new-home uses, has no such delivery and does fork C: not the
 * runbook's path.)
 */

const cluster = lazyCluster();

describe('review-finding-2b: Switchover away from a home that took a cut event', { timeout: 180_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  it('B (refused A’s seq 3) becomes home by Switchover from C (took it): B’s log holds A’s seq 3 before its first write, and C never forks', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'r2b-sw');
    await failoverToC(c, partition);
    expect(await applierOf(c, B)(structuredClone(unreplicated))).toMatchObject({
      status: 'quarantined',
      reason: 'SupersededByFailover',
    });
    expect((await applierOf(c, C)(structuredClone(unreplicated))).status).toBe('applied');
    // The Switchover runbook C -> B (Fence, CheckWatermark with its direct delivery, MoveHome, Unfence).
    const state: Record<string, unknown> = { partitions: [partition], to: B, run: { id: `r2b-sw-${id}` } };
    const task = stepped(
      createRunbookDispatcher({
        ...clusterRunbookDeps(c, B),
        watermarkPoll: { intervalMs: 20, budgetMs: 2_000 },
      }),
      'switchover',
      state,
    );
    await task('Fence');
    const check = await task('CheckWatermark');
    expect(check).toMatchObject({ caughtUp: true, partitions: [{ delivered: 1, missing: 0 }] });
    await task('MoveHome');
    await task('Unfence');
    let written: Awaited<ReturnType<typeof acknowledged>> | undefined;
    for (let i = 0; i < 40 && !written; i++) {
      written = await acknowledged(c, B, id, 5).catch(() => undefined);
      if (!written) await sleep(100);
    }
    expect(written).toBeDefined();
    const home = await log(c, B, id);
    expect(home.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
    const atC = await applierOf(c, C)(structuredClone(written!));
    expect(atC.status).toBe('applied');
    expect(forks(home, await log(c, C, id))).toEqual([]);
  });
});
