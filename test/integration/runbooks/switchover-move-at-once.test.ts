import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts, converge, expectClean } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * MoveHome moves and unfences in one register change when the old home confirmed its fence (issue 15:
 * one majority read and one write round less while the partition refuses core writes). The interleavings
 * this could break, and what the test checks for each:
 * 1. The old home still holds a lease (20 s here) when the new home becomes writable: a write sent to it
 *    must not be appended there (its own copy carries the fence; the append guard fails, and the write is
 *    re-routed to the new home, which accepts it). Checked: A's log gains no event of its own, and the
 *    write is acknowledged by B.
 * 2. The new home writes before Unfence has run: its first event must follow every event of the old home
 *    (the head CheckWatermark compared). Checked by the history check (no gap, no duplicate seq).
 * 3. Unfence after the combined change must not change the entry again (a second epoch would make routers
 *    holding the first answer 421 once more). Checked: same epoch.
 * The lease path (no confirmation: MoveHome only moves, Unfence holds lease + skew) stays covered by
 * switchover-fence-confirm.test.ts ("an old home that cannot confirm ...": B refuses during the hold).
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 20_000, skewMarginMs: 500 });
  return shared;
};

function runbook(c: Cluster) {
  const run = createRunbookDispatcher({
    ...clusterRunbookDeps(c, B),
    watermarkPoll: { intervalMs: 20, budgetMs: 200 },
  });
  const state: Record<string, unknown> = {};
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'switchover', task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
  return { state, task };
}

describe('MoveHome of a partition whose old home confirmed its fence', { timeout: 120_000 }, () => {
  it('makes the new home writable at once, while the old home (lease still valid) appends nothing', async () => {
    const c = await cluster();
    const accounts = new CheckedAccounts(c);
    const id = c.freshId('at-once');
    const partition = partitionOf(id, PARTITIONS);
    expect((await accounts.open(A, id)).status).toBe(200);
    expect((await accounts.deposit(A, id, 10)).status).toBe(200);
    await c.replicate(A, B, 'account', id);
    const { state, task } = runbook(c);
    Object.assign(state, { partitions: [partition], to: B, run: { id: `at-once-${id}` } });
    await task('Fence');
    let check = await task('CheckWatermark');
    for (let poll = 0; check.caughtUp !== true; poll++) {
      expect(poll).toBeLessThan(20);
      await c.replicate(A, B, 'account', id);
      check = await task('CheckWatermark');
    }
    expect(check.partitions).toEqual([expect.objectContaining({ confirmedBy: 'own-copy' })]);
    await task('VerifyProbe');
    const move = await task('MoveHome');
    expect(move.moved).toEqual([expect.objectContaining({ home: B, state: 'active' })]);
    const entry = await c.cells[B].map.read(partition);
    expect(entry).toMatchObject({ home: B, state: 'active' });
    expect(entry!.activeFrom).toBeLessThanOrEqual(Date.now());

    const ownAtA = async () =>
      (await c.cells[A].events.loadStream('account', id)).filter((e) => e.origin === A).length;
    const before = await ownAtA();
    // Sent to the old home: re-routed to the new home (A's append guard failed, A re-read the map and
    // forwarded) and accepted there, the new home being writable at once (a forwarded write whose home a
    // cached entry puts elsewhere is re-read there before a 421); never appended by A.
    const old = await accounts.deposit(A, id, 20);
    expect({ status: old.status, region: old.headers['X-Multiactive-Region'] }).toEqual({
      status: 200,
      region: B,
    });
    expect(await ownAtA()).toBe(before);
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);

    const unfence = await task('Unfence');
    expect(unfence.active).toEqual([expect.objectContaining({ epoch: entry!.epoch, sourceConfirmed: true })]);
    expect((await c.cells[B].map.read(partition))?.epoch).toBe(entry!.epoch);
    await converge(c, B, id);
    expectClean((await accounts.check()).filter((a) => a.key === `account/${id}`));
  });
});
