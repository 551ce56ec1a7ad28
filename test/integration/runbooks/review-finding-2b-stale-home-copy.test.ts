import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep } from '../routing/cluster.ts';
import { applierOf, lazyCluster } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, forks, log, stepped } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * review-finding-2b (second adversarial review of the Failover cut), `core.ack: local`; was OPEN FINDING 3.
 *
 * review-finding-2's fix (1) lets a region's applier take a cut event as the partition's home
 * (CoreDrainDeps.homeTakesCut). Its first home check was one ConditionCheck on the LOCAL register copy
 * ("home me, active"), and lib/ownership/ownership.ts states why a local copy is not enough for a home's
 * write: "A region that missed the fence still has a stale local copy".
 *
 * Interleaving (double failure): A's seq 3 is only in A. A is lost: Failover A -> C (B and C cut A). Then C
 * is lost too: Failover C -> B, C unreachable, so C's own copy still reads "home C, active". The links heal;
 * A's late delivery of seq 3 reaches C: C's cut of A refuses it. With the own-copy check (bug switch
 * `applier-home-check-local-copy`) C passes it and appends it; B never had it (and B is cut, rightly refusing
 * it), B's next acknowledged write takes seq 3, and delivered to C it meets A's seq 3: C is forked from its
 * home B (a fencing violation there until Repair or Failback).
 *
 * The fix: the home check is the write path's lease (PartitionOwnership.homeLeaseForApply): a majority read
 * of the register, only when the cut refuses an event. It names B, so C quarantines A's seq 3
 * (SupersededByFailover) and applies B's seq 3. Without a majority (C isolated) the read throws, nothing is
 * appended and the delivery is retried; once healed the retry is quarantined.
 */

const cluster = lazyCluster();

/** A whole Failover of `lost` (isolated, unreachable) run from `from`, the partition's new home `to`. */
async function failover(c: Cluster, partition: number, lost: RegionName, to: RegionName, from: RegionName) {
  const deps: RunbookDeps = clusterRunbookDeps(c, from, async (_observer, region) => ({
    reachable: region !== lost,
    heartbeatAgeMs: null,
  }));
  const state: Record<string, unknown> = {
    region: lost,
    trigger: 'test',
    residency: { [String(partition)]: [to] },
  };
  const task = stepped(createRunbookDispatcher(deps), 'failover', state);
  c.links.isolate(lost);
  try {
    for (const name of RUNBOOK_TASKS.failover) await task(name);
  } finally {
    c.links.heal();
  }
  const { writableFrom } = state.bumpEpochs as { writableFrom: number };
  await sleep(Math.max(0, writableFrom - Date.now()) + 50);
}

/** B's acknowledged write, retried while B's lease settles after the Failover. */
async function writeAtB(c: Cluster, id: string) {
  for (let i = 0; i < 40; i++) {
    const answered = await acknowledged(c, B, id, 5).catch(() => undefined);
    if (answered) return answered;
    await sleep(100);
  }
  throw new Error('B never took the write');
}

describe('review-finding-2b: a returned lost home with a stale own copy takes a cut event', {
  timeout: 180_000,
}, () => {
  afterEach(() => {
    disableAllBugs();
  });

  const scenario = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix);
    await failover(c, partition, A, C, C);
    await failover(c, partition, C, B, B); // C unreachable: its own copy still names it home, active
    const late = await applierOf(c, C)(structuredClone(unreplicated));
    const written = await writeAtB(c, id);
    const atC = await applierOf(c, C)(structuredClone(written));
    return { id, late, atC };
  };

  it('C (lost, back with a stale copy) quarantines A’s cut seq 3 on a majority read and takes B’s seq 3: no fork', async () => {
    const c = await cluster();
    const { id, late, atC } = await scenario(c, 'r2b-stale');
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atC.status).toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([]);
    expect(await log(c, C, id)).toEqual(await log(c, B, id));
  });

  it('bug switch applier-home-check-local-copy: C’s stale copy passes, it takes A’s seq 3 and B’s seq 3 forks it', async () => {
    const c = await cluster();
    const { id, late, atC } = await withBug('applier-home-check-local-copy', () =>
      scenario(c, 'r2b-stale-bug'),
    );
    expect(late.status).toBe('applied');
    expect(atC.status).not.toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([3]);
  });

  it('without a majority C takes nothing: the delivery fails (retried), and once healed A’s seq 3 is quarantined', async () => {
    const c = await cluster();
    const { id, partition, unreplicated } = await account(c, 'r2b-stale-nomaj');
    await failover(c, partition, A, C, C);
    await failover(c, partition, C, B, B);
    const before = await log(c, C, id);
    c.links.isolate(C);
    try {
      await expect(applierOf(c, C)(structuredClone(unreplicated))).rejects.toThrow();
    } finally {
      c.links.heal();
    }
    expect(await log(c, C, id)).toEqual(before);
    const retried = await applierOf(c, C)(structuredClone(unreplicated));
    expect(retried).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    const written = await writeAtB(c, id);
    expect((await applierOf(c, C)(structuredClone(written))).status).toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([]);
  });

  it('control: with home-refuses-cut-events (no home check) C refuses A’s seq 3 and converges on B', async () => {
    const c = await cluster();
    const { id, late, atC } = await withBug('home-refuses-cut-events', () => scenario(c, 'r2b-stale-ctl'));
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atC.status).toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([]);
  });
});
