import { ulid } from 'ulid';
import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf, takeOverFence } from '../../../lib/ownership/index.ts';
import { createRunbookDispatcher } from '../../../lib/runbooks/index.ts';
import { rowDigest } from '../../../lib/runbooks/switchover-plan.ts';
import { type Cluster, type RegionName, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts, converge, expectClean } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

/**
 * Issue 15 (switchover-3): core writes are refused from the fence until the new home is writable, and
 * CheckWatermark used to wait there for the replication pipeline (stream poll, bus, applier) to bring
 * the old home's last writes to the target, re-reading both logs on every poll; VerifyProbe then read
 * the entry, the leaves and every row again, and MoveHome read the entry before its compare-and-set.
 * Now, once the old home's own copy carries the fence (its log is final):
 * - its head (every core aggregate's log and row) is read once, and what the target lacks of it is put
 *   straight into the target's log (Repair's direct delivery: the applier's checks, chain and row guard),
 *   then the target's logs are read again: a refused event stays missing (switch
 *   `switchover-trusts-delivery` takes the delivery for done);
 * - once the target holds the head the rows are compared there and then, still fenced; VerifyProbe takes
 *   that comparison (switch `switchover-rows-unchecked`: reported the same without being read);
 * - MoveHome makes its compare-and-set on the fence Fence committed, without reading the entry: any change
 *   since fails it, and the entry is then read and left to whoever changed it (switch
 *   `move-home-any-entry`: moved over whatever entry is read).
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 20_000, skewMarginMs: 500 });
  return shared;
};

function runbook(c: Cluster, directDelivery?: { perCheck: number; windowMs: number }) {
  const run = createRunbookDispatcher({
    ...clusterRunbookDeps(c, B),
    // With a delivery bound, the polls must not run out before the bounded deliveries are done (a loaded
    // machine takes over 200 ms for one); the task returns as soon as the partition is caught up.
    watermarkPoll: { intervalMs: 20, budgetMs: directDelivery?.windowMs ? 30_000 : 200 },
    ...(directDelivery ? { directDelivery } : {}),
  });
  const state: Record<string, unknown> = {};
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'switchover', task: name, input: state });
    return state[key] as Record<string, unknown>;
  };
  return { state, task };
}

/** An account homed in A with seq 1-2 replicated to B, then `unreplicated` more deposits only A holds. */
async function account(
  c: Cluster,
  prefix: string,
  unreplicated: number,
  directDelivery?: { perCheck: number; windowMs: number },
) {
  const accounts = new CheckedAccounts(c);
  const id = c.freshId(prefix);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await c.replicate(A, B, 'account', id);
  for (let n = 0; n < unreplicated; n++) expect((await accounts.deposit(A, id, 20 + n)).status).toBe(200);
  const rb = runbook(c, directDelivery);
  Object.assign(rb.state, { partitions: [partitionOf(id, PARTITIONS)], to: B, run: { id: `dh-${id}` } });
  return { accounts, id, partition: partitionOf(id, PARTITIONS), ...rb };
}

const logIds = async (c: Cluster, region: RegionName, id: string) =>
  (await c.cells[region].events.loadStream('account', id, { consistentRead: true })).map((e) => e.eventId);

/** Puts another event at seq 3 of B's log (a branch the source's log does not hold), its row left as it was. */
async function forkAtTarget(c: Cluster, id: string) {
  const [, second] = await c.cells[A].events.loadStream('account', id);
  const fork = { ...second!, eventId: ulid(), seq: 3, origin: B, payload: { amount: 999 } };
  await c.cells[B].events.appendEvents([fork], { tier: 'core' });
}

describe('Switchover: the confirmed old home’s head delivered directly, rows compared in CheckWatermark', {
  timeout: 120_000,
}, () => {
  afterEach(() => disableAllBugs());

  it('delivers the core writes the target lacks in the task itself: caught up without the pipeline, the new home writes at once', async () => {
    const c = await cluster();
    const { accounts, id, task } = await account(c, 'dh-deliver', 2);
    await task('Fence');
    const check = await task('CheckWatermark');
    expect(check).toMatchObject({ caughtUp: true, polls: 1 });
    expect(check.partitions).toEqual([
      expect.objectContaining({ confirmedBy: 'own-copy', missing: 0, delivered: 2, rows: 'same' }),
    ]);
    expect(await logIds(c, B, id)).toEqual(await logIds(c, A, id));
    const [atA, atB] = await Promise.all([A, B].map((r) => c.cells[r].states.getState('account', id)));
    expect(rowDigest(atB)).toBe(rowDigest(atA));
    // VerifyProbe takes the comparison CheckWatermark made while the partition was fenced.
    const probe = await task('VerifyProbe');
    expect(probe.probed).toEqual([expect.objectContaining({ compared: 'rows', by: 'CheckWatermark' })]);
    const moved = await task('MoveHome');
    expect(moved.moved).toEqual([expect.objectContaining({ home: B, state: 'active' })]);
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);
    await converge(c, B, id);
    expectClean((await accounts.check()).filter((a) => a.key === `account/${id}`));
  });

  it('a target holding another event at a seq of the source’s log: the delivery is refused and the partition never settles', async () => {
    const c = await cluster();
    const { id, task } = await account(c, 'dh-fork', 1);
    await forkAtTarget(c, id);
    await task('Fence');
    const check = await task('CheckWatermark');
    expect(check.caughtUp).toBe(false);
    expect(check.partitions).toEqual([
      expect.objectContaining({
        missing: 1,
        delivered: 0,
        refused: [expect.objectContaining({ reason: 'slot-taken' })],
      }),
    ]);
    await task('Rollback');
    expect(await c.cells[B].map.read(partitionOf(id, PARTITIONS))).toMatchObject({
      home: A,
      state: 'active',
    });
  });

  it('with switchover-trusts-delivery: the refused event counts as held; only the row comparison still stops the move', async () => {
    const c = await cluster();
    const { id, task } = await account(c, 'dh-trust', 1);
    await forkAtTarget(c, id);
    await task('Fence');
    const error = await withBug('switchover-trusts-delivery', () => task('CheckWatermark')).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/differs between/);
    await task('Rollback');
  });

  it('rows that differ once the target holds the head: CheckWatermark refuses the move (ProbeFailed), still fenced', async () => {
    const c = await cluster();
    const { id, partition, task } = await account(c, 'dh-rows', 0);
    const row = (await c.cells[B].states.getState('account', id))!;
    await c.cells[B].states.putState({ ...row, version: row.version + 1 });
    await task('Fence');
    await expect(task('CheckWatermark')).rejects.toThrow(/differs between us-east-1 and eu-west-1/);
    await task('Rollback');
    expect(await c.cells[B].map.read(partition)).toMatchObject({ home: A, state: 'active' });
  });

  it('with switchover-rows-unchecked: VerifyProbe trusts an unmade comparison and MoveHome moves a partition whose rows differ', async () => {
    const c = await cluster();
    const { id, partition, task } = await account(c, 'dh-rows-bug', 0);
    const row = (await c.cells[B].states.getState('account', id))!;
    await c.cells[B].states.putState({ ...row, version: row.version + 1 });
    await task('Fence');
    await withBug('switchover-rows-unchecked', async () => {
      expect((await task('CheckWatermark')).caughtUp).toBe(true);
      await task('VerifyProbe');
      await task('MoveHome');
    });
    expect(await c.cells[B].map.read(partition)).toMatchObject({ home: B, state: 'active' });
  });

  it('MoveHome’s compare-and-set is on the fence its run committed: a fence another run took over since is left alone', async () => {
    const c = await cluster();
    const { partition, task } = await account(c, 'dh-cas', 0);
    await task('Fence');
    await task('CheckWatermark');
    const fenced = (await c.cells[B].map.read(partition))!;
    await takeOverFence(c.cells[B].map, fenced, 'another-run');
    await expect(task('MoveHome')).rejects.toThrow(/another-run|changed/);
    expect(await c.cells[B].map.read(partition)).toMatchObject({
      home: A,
      state: 'fenced',
      run: 'another-run',
    });
  });

  it('with move-home-any-entry: MoveHome moves the partition another run holds', async () => {
    const c = await cluster();
    const { partition, task } = await account(c, 'dh-cas-bug', 0);
    await task('Fence');
    await task('CheckWatermark');
    const fenced = (await c.cells[B].map.read(partition))!;
    await takeOverFence(c.cells[B].map, fenced, 'another-run');
    await withBug('move-home-any-entry', () => task('MoveHome'));
    expect(await c.cells[B].map.read(partition)).toMatchObject({ home: B, state: 'active' });
  });

  it('delivers at most perCheck events a poll: a large head is brought over several polls, in log order', async () => {
    const c = await cluster();
    const { id, task } = await account(c, 'dh-cap', 3, { perCheck: 2, windowMs: 60_000 });
    await task('Fence');
    const check = await task('CheckWatermark');
    // Unbounded, one poll delivered all 3; bounded, 2 then 1 (the last check reports its own delivery).
    expect(check).toMatchObject({ caughtUp: true, polls: 2 });
    expect(check.partitions).toEqual([expect.objectContaining({ missing: 0, delivered: 1, rows: 'same' })]);
    expect(await logIds(c, B, id)).toEqual(await logIds(c, A, id));
    await task('Rollback');
  });

  it('starts no delivery once its window has passed: the task returns and the machine polls again', async () => {
    const c = await cluster();
    const { id, task } = await account(c, 'dh-window', 2, { perCheck: 1_000, windowMs: 0 });
    await task('Fence');
    const check = await task('CheckWatermark');
    // Nothing replicates in this cluster unless asked: without a delivery the target still lacks both.
    expect(check.caughtUp).toBe(false);
    expect(check.partitions).toEqual([expect.objectContaining({ confirmedBy: 'own-copy', missing: 2 })]);
    expect((check.partitions as Array<Record<string, unknown>>)[0]).not.toHaveProperty('delivered');
    expect(await logIds(c, B, id)).toHaveLength(2);
    await task('Rollback');
  });
});
