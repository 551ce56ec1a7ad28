import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep } from '../routing/cluster.ts';
import { applierOf, lazyCluster } from './failover-cut-world.ts';
import { A, account, acknowledged, B, C, forks, log, stepped } from './late-delivery-world.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * review-finding-2b (second adversarial review of the Failover cut), `core.ack: local`.
 *
 * review-finding-2's fix (1) lets a region's applier take a cut event "while its own copy of the entry
 * names it home and active" (CoreDrainDeps.homeTakesCut, one ConditionCheck on the LOCAL register copy).
 * lib/ownership/ownership.ts states why a local copy is not enough for a home's write: "A region that
 * missed the fence still has a stale local copy", so a home writes only on a majority-read lease. The
 * applier's home check has no lease: a lost home that comes back with a stale copy passes it.
 *
 * Interleaving (double failure): A's seq 3 is only in A. A is lost: Failover A -> C (B and C cut A). Then C
 * is lost too: Failover C -> B, C unreachable, so C's own copy still reads "home C, active". The links heal;
 * A's late delivery of seq 3 reaches C: C's cut of A refuses it, appendAsHome checks C's stale copy, passes,
 * and C appends it. The home B never had it (and B is cut, rightly refusing it); B's next acknowledged write
 * takes seq 3, and delivered to C it meets A's seq 3: a fencing violation. C, which held nothing of its own
 * past the home's history, is forked from its home B by the fix (without homeTakesCut C refuses A's seq 3
 * and converges on B's history).
 *
 * Severity MEDIUM: a double failure under local ack (A's Failover, then its new home's), and C stays forked
 * until Repair or a Failback retires its branch (C quarantines B's seq 3 as a fencing violation and parks
 * B's later events). No switch: the sound fix is not small. The home check must be the write path's
 * (lib/ownership/ownership.ts): a lease from a majority read of the register (PartitionOwnership
 * .fenceCoreWrite: NotHome / PartitionFenced -> refuse; its guards, the local copy at the lease's exact
 * epoch and ballot, in the append's transaction; reconfirm() just before it). The applier would need the
 * control clients of every region (as lib/api/multi-region.ts wires them) and the applier role the
 * cross-region control-table reads the API role has (cdk + the sandbox IAM check).
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

  // OPEN FINDING 3 (left open: the fix is the write path's lease in the applier, see the header). This test
  // asserts what happens today and fails once the hole is closed: flip it then to what must hold (A's seq 3
  // quarantined at C, B's seq 3 applied there, no fork).
  it('OPEN FINDING 3: C (lost, back with a stale copy) applies A’s cut seq 3; B’s seq 3 then forks C from its home', async () => {
    const c = await cluster();
    const { id, late, atC } = await scenario(c, 'r2b-stale');
    expect(late.status).toBe('applied');
    expect(atC.status).not.toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([3]);
  });

  it('control: with home-refuses-cut-events (no home check) C refuses A’s seq 3 and converges on B', async () => {
    const c = await cluster();
    const { id, late, atC } = await withBug('home-refuses-cut-events', () => scenario(c, 'r2b-stale-ctl'));
    expect(late).toMatchObject({ status: 'quarantined', reason: 'SupersededByFailover' });
    expect(atC.status).toBe('applied');
    expect(forks(await log(c, B, id), await log(c, C, id))).toEqual([]);
  });
});
