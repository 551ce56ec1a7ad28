import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { cutKey } from '../../../lib/ownership/failover-cut.ts';
import { createApplier } from '../../../lib/replication/index.ts';
import { RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import type { Cluster, RegionName } from '../routing/cluster.ts';
import { applierDeps, applierOf, failoverToC, lazyCluster, untilWritable } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, failoverOfA, forks, log } from './late-delivery-world.ts';

/**
 * review-finding-3 (adversarial review of the home lease), `core.ack: local`, a single failure.
 *
 * Interleaving: A's acknowledged seq 3 reached survivor B (before the loss) but not C. A is lost: Failover
 * A -> C. CollectCopies has written C's cut of A, BumpEpochs (the unfence naming C home) has not run yet:
 * the register's committed entry is the fence. A's late delivery of seq 3 reaches C in that window: the cut
 * refuses it, the home lease's majority read sees the fence (not "home C, active") and the event is
 * quarantined for good. BumpEpochs makes C the home; C's next acknowledged write takes seq 3 and, delivered
 * to B, meets A's seq 3 there: B is forked from its home (review-finding-2's fork, in the Failover's window).
 *
 * The fix: under local ack the new home's cut is written once it is the home (BumpEpochs, after the unfence),
 * not in CollectCopies: before that the late event reaches it uncut and extends the history it is about to
 * own; after it the home lease names it home. Bug switch `new-home-cut-before-unfence` restores the cut in
 * CollectCopies.
 */

const cluster = lazyCluster();

describe('review-finding-3: a cut event reaching the new home mid-Failover', { timeout: 120_000 }, () => {
  afterEach(() => {
    disableAllBugs();
  });

  const scenario = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix);
    await c.replicate(A, B, 'account', id); // B applied A's seq 3 before the loss; C has not
    const fo = failoverOfA(c, partition, { to: C });
    const tasks = RUNBOOK_TASKS.failover;
    const split = tasks.indexOf('CollectCopies') + 1;
    c.links.isolate(A);
    let late: Awaited<ReturnType<ReturnType<typeof applierOf>>> | Error;
    try {
      for (const name of tasks.slice(0, split)) await fo.task(name);
      // A's delivery of seq 3 reaches C after its cut, before the unfence names C home.
      late = await applierOf(c, C)(structuredClone(unreplicated)).catch((error: unknown) => error as Error);
      for (const name of tasks.slice(split)) await fo.task(name);
    } finally {
      c.links.heal();
    }
    await untilWritable(fo.state);
    // The delivery is retried if it failed (a transient error): a retry after the unfence.
    const retried = late instanceof Error ? await applierOf(c, C)(structuredClone(unreplicated)) : late;
    const written = await acknowledged(c, C, id, 5);
    const atB = await applierOf(c, B)(structuredClone(written));
    return { id, unreplicated, late, retried, atB };
  };

  it('A’s seq 3, held by survivor B, reaching C between its cut and the unfence, ends in C’s history: B never forks from its home', async () => {
    const c = await cluster();
    const { id, unreplicated, late, retried, atB } = await scenario(c, 'r3-mid');
    const [home, survivor] = [await log(c, C, id), await log(c, B, id)];
    expect(late).toMatchObject({ status: 'applied' });
    expect(retried).toBe(late);
    expect(forks(home, survivor)).toEqual([]);
    expect(home.some((e) => e.eventId === unreplicated.eventId)).toBe(true);
    expect(atB.status).toBe('applied');
    expect(home.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('C is cut by BumpEpochs, after the unfence, not by CollectCopies (B is, there); the cut holds once the partition moves on (review-finding-2-local-new-home)', async () => {
    const c = await cluster();
    const { partition } = await account(c, 'r3-cut-after');
    const fo = failoverOfA(c, partition, { to: C });
    const cutOfA = async (region: RegionName) => {
      const { doc, tables } = c.cells[region].tables;
      const got = await doc.send(new GetCommand({ TableName: tables.control, Key: cutKey(partition, A) }));
      return got.Item?.epoch as number | undefined;
    };
    const tasks = RUNBOOK_TASKS.failover;
    const split = tasks.indexOf('CollectCopies') + 1;
    c.links.isolate(A);
    try {
      for (const name of tasks.slice(0, split)) await fo.task(name);
      expect({ B: await cutOfA(B), C: await cutOfA(C) }).toEqual({ B: expect.any(Number), C: undefined });
      for (const name of tasks.slice(split)) await fo.task(name);
    } finally {
      c.links.heal();
    }
    expect(await cutOfA(C)).toBe(await cutOfA(B));
    const bumped = fo.state.bumpEpochs as { newHomeCuts: { written: string[]; failed: string[] } };
    expect(bumped.newHomeCuts).toEqual({ written: [C], failed: [] });
  });

  it('bug switch new-home-cut-before-unfence: C cut in CollectCopies quarantines A’s seq 3 mid-Failover, and its first write forks B', async () => {
    const c = await cluster();
    const { id, late, atB } = await withBug('new-home-cut-before-unfence', () => scenario(c, 'r3-mid-bug'));
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atB).toMatchObject({ status: 'quarantined', reason: 'FencingViolation' });
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([3]);
  });

  /**
   * C's next acknowledged write to the account (sent again every 100 ms, up to 60 times, while C is not
   * writable yet), delivered to B's applier: applied there unless it forks B.
   */
  const nextWriteAtCDeliveredToB = async (c: Cluster, id: string) => {
    let written: Awaited<ReturnType<typeof acknowledged>> | undefined;
    for (let i = 0; i < 60 && !written; i++) {
      written = await acknowledged(c, C, id, 5).catch(() => undefined);
      if (!written) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return applierOf(c, B)(structuredClone(written!));
  };

  /**
   * The same refusal with an entry that still names C but fenced (here a contention fence; a Switchover of
   * C not yet moved or later rolled back reads alike): C's home lease quarantined A's seq 3 for good, and
   * C's next write, once unfenced, forked B. Now the read throws PartitionFencedError (transient): the
   * delivery is retried, and a retry once C is active again takes it.
   */
  const fencedAtHome = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix);
    await c.replicate(A, B, 'account', id);
    await failoverToC(c, partition);
    const map = c.cells[C].map;
    await map.change(partition, (await map.read(partition))!, { state: 'fenced', reason: 'contention' });
    const late = await applierOf(
      c,
      C,
    )(structuredClone(unreplicated)).catch((error: unknown) => error as Error);
    const current = (await map.read(partition))!;
    await map.change(partition, current, { state: 'active' });
    const retried = late instanceof Error ? await applierOf(c, C)(structuredClone(unreplicated)) : late;
    const atB = await nextWriteAtCDeliveredToB(c, id);
    return { id, late, retried, atB };
  };

  it('A’s seq 3 reaching C while C’s entry is fenced (contention) is retried, not quarantined: taken once C is active, B never forks', async () => {
    const c = await cluster();
    const { id, late, retried, atB } = await fencedAtHome(c, 'r3-fenced-home');
    expect(late).toMatchObject({ name: 'PartitionFencedError' });
    expect(retried).toMatchObject({ status: 'applied' });
    expect(atB.status).toBe('applied');
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([]);
  });

  it('bug switch home-lease-fenced-refuses: C quarantines A’s seq 3 while fenced, and its next write forks B', async () => {
    const c = await cluster();
    const { id, late, atB } = await withBug('home-lease-fenced-refuses', () =>
      fencedAtHome(c, 'r3-fenced-bug'),
    );
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atB).toMatchObject({ status: 'quarantined', reason: 'FencingViolation' });
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([3]);
  });

  /**
   * LOW (a) of the review: the home lease is read (a majority: home C, active, epoch e, ballot b), then the
   * entry is rewritten before the append, still naming C home, active (here a no-op register change; any
   * change bumps the ballot). The append's guard at (e, b) fails with StaleEpochError, which was taken as
   * "not the home". The applier's second (final) attempt read a fresh lease, so one such change was
   * survived; a second one during that attempt quarantined A's seq 3 for good, and C's next write forked
   * B. Here the entry is rewritten after each of the first two lease reads. Now a stale guard reads the
   * lease again (at most 3 times per attempt, then the delivery is retried), never quarantines.
   */
  const supersededAtHome = async (c: Cluster, prefix: string) => {
    const { id, partition, unreplicated } = await account(c, prefix);
    await c.replicate(A, B, 'account', id);
    await failoverToC(c, partition);
    const map = c.cells[C].map;
    const deps = applierDeps(c, C);
    let leases = 0;
    const late = await createApplier({
      ...deps,
      homeLease: async (p: number) => {
        const lease = await deps.homeLease(p);
        if (leases++ < 2) await map.change(p, (await map.read(p))!, { state: 'active' });
        return lease;
      },
    })(structuredClone(unreplicated)).catch((error: unknown) => error as Error);
    const atB = await nextWriteAtCDeliveredToB(c, id);
    return { id, late, atB, leases };
  };

  it('A’s seq 3 reaching C while C’s entry is superseded between the lease and the append (still home C) is taken on a fresh lease: B never forks', async () => {
    const c = await cluster();
    const { id, late, atB, leases } = await supersededAtHome(c, 'r3-superseded');
    expect(late).toMatchObject({ status: 'applied' });
    expect(leases).toBe(3);
    expect(atB.status).toBe('applied');
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([]);
  });

  it('bug switch home-lease-stale-quarantines: C quarantines A’s seq 3 on a stale guard, and its next write forks B', async () => {
    const c = await cluster();
    const { id, late, atB } = await withBug('home-lease-stale-quarantines', () =>
      supersededAtHome(c, 'r3-superseded-bug'),
    );
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atB).toMatchObject({ status: 'quarantined', reason: 'FencingViolation' });
    expect(forks(await log(c, C, id), await log(c, B, id))).toEqual([3]);
  });
});
