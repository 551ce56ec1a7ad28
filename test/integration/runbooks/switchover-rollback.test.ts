/**
 * Issue 11, scenario 1: a switchover's Rollback must not hand a partition back blind.
 *
 * The interleavings, each driven through the real runbook tasks on three regions of DynamoDB Local
 * (A = us-east-1 the old home, B = eu-west-1 the switchover target, C = ap-southeast-1):
 * 1. Moved on. The switchover fences p at A; A dies; a Failover moves p to B (active); B acknowledges a
 *    deposit; the switchover fails (A unreadable) and rolls back. A blind Rollback fences B, moves p back to
 *    the dead A and unfences it: once A revives it writes the seq B already acknowledged (a forked log, and
 *    B's acknowledged deposit is lost at A). The entry is no longer the one this execution wrote: Rollback
 *    must leave it alone and report it.
 * 2. The new home acknowledged writes. The switchover completes MoveHome and Unfence; B acknowledges a
 *    deposit; a later step fails (CheckOtherTiers: A, slow or dead, cannot be read; VerifyProbe was that
 *    step until CheckWatermark compared the rows while fenced, so it no longer reads A). A blind Rollback moves p back to A, which
 *    lacks B's deposit: A writes the same seq again. Rollback must refuse (RollbackRefused: B holds core
 *    events A lacks) and leave p with B, active.
 * 3. The old home is dead past lease + skew. Same as 2 but B has written nothing: a blind Rollback homes p
 *    in a dead region, so every core write of p fails until someone runs a Failover. Rollback must refuse
 *    (A unreachable) and leave p with B, writable.
 * The switch `blind-rollback` brings the old Rollback back; each test runs both ways.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { partitionOf } from '../../../lib/ownership/index.ts';
import {
  createRunbookDispatcher,
  movePartition,
  openFailoverRecord,
  type RegionCell,
  type RunbookDeps,
} from '../../../lib/runbooks/index.ts';
import { type Cluster, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts, converge, expectClean, kindsOf } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const PARTITIONS = 256;

type State = Record<string, unknown>;

afterEach(() => disableAllBugs());

/** A region's cell whose every store call fails: the region is dead or cut off. */
function deadCell(cell: RegionCell): RegionCell {
  const fail = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key) as unknown;
        if (typeof value !== 'function') return value;
        return async () => {
          throw new Error(`${cell.region} is unreachable`);
        };
      },
    });
  return {
    ...cell,
    source: fail(cell.source),
    events: fail(cell.events),
    states: fail(cell.states),
    tables: { ...cell.tables, client: fail(cell.tables.client) },
    replay: async () => {
      throw new Error(`${cell.region} is unreachable`);
    },
  };
}

/** A three-region cluster, runbook deps in B, and a set of regions that are dead (unreachable everywhere). */
async function setup() {
  const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
  const dead = new Set<string>();
  const base = clusterRunbookDeps(cluster, B);
  const deps: RunbookDeps = {
    ...base,
    cell: (name) => (dead.has(name) ? deadCell(base.cell(name)) : base.cell(name)),
    observe: async (_observer, target) => ({
      reachable: !dead.has(target),
      heartbeatAgeMs: dead.has(target) ? null : 0,
    }),
  };
  const kill = (region: RegionName) => {
    dead.add(region);
    cluster.links.isolate(region);
  };
  const revive = (region: RegionName) => {
    dead.delete(region);
    cluster.links.heal();
  };
  return { cluster, deps, kill, revive, accounts: new CheckedAccounts(cluster) };
}

/** The state of one Switchover execution, its tasks run one by one as the machine would run them. */
function execution(
  deps: RunbookDeps,
  runbook: 'switchover' | 'failover' | 'failback',
  input: State,
  runKey = 'run',
) {
  const run = createRunbookDispatcher(deps);
  // What the re-homing steps' first (Pass) state does: one id per execution, States.UUID().
  const state: State = { ...input, [runKey]: { id: randomUUID() } };
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook, task: name, input: state });
    return state[key] as State;
  };
  const fail = (error: string) => {
    state.error = { Error: error };
  };
  return { state, task, fail };
}

/** Opens an account in A with 10 in it, copied to B (caught up); returns its id and partition. */
async function accountInA(cluster: Cluster, accounts: CheckedAccounts) {
  const id = cluster.freshId('rollback');
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await cluster.replicate(A, B, 'account', id);
  return { id, partition: partitionOf(id, PARTITIONS) };
}

/** Switchover of `partition` from A to B up to and including Unfence; waits until B may write. */
async function switchedToB(deps: RunbookDeps, partition: number) {
  const switchover = execution(deps, 'switchover', { partitions: [partition], to: B });
  await switchover.task('Fence');
  for (let poll = 0; (await switchover.task('CheckWatermark')).caughtUp !== true; poll++) {
    expect(poll).toBeLessThan(50);
    await sleep(20);
  }
  await switchover.task('MoveHome');
  const { writableFrom } = await switchover.task('Unfence');
  await sleep(Math.max(0, Number(writableFrom) - Date.now()) + 20);
  return switchover;
}

/** Waits until the partition's current entry lets its home write. */
async function untilWritable(deps: RunbookDeps, partition: number) {
  const entry = await deps.map.read(partition);
  await sleep(Math.max(0, (entry?.activeFrom ?? 0) - Date.now()) + 20);
  return entry;
}

describe('Switchover Rollback (issue 11, scenario 1)', () => {
  async function movedOnScenario(blind: boolean) {
    const { cluster, deps, kill, revive, accounts } = await setup();
    const { id, partition } = await accountInA(cluster, accounts);
    const switchover = execution(deps, 'switchover', { partitions: [partition], to: B });
    await switchover.task('Fence');
    kill(A);
    const failover = execution(deps, 'failover', { region: A, trigger: 'test' });
    for (const name of [
      'ConfirmRegionLost',
      'ChooseNewHomes',
      'FencePartitions',
      'CollectCopies',
      'BumpEpochs',
    ])
      await failover.task(name);
    const afterFailover = await untilWritable(deps, partition);
    expect(afterFailover).toMatchObject({ home: B, state: 'active' });
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);
    // The switchover's next poll cannot read A: the machine catches the error and runs Rollback.
    await expect(switchover.task('CheckWatermark')).rejects.toThrow(/unreachable/);
    switchover.fail('Error');
    const rollback = blind
      ? await withBug('blind-rollback', () => switchover.task('Rollback'))
      : await switchover.task('Rollback');
    revive(A);
    const entry = await untilWritable(deps, partition);
    const later = await accounts.deposit(A, id, 7);
    return { cluster, accounts, id, partition, afterFailover, rollback, entry, later };
  }

  it('leaves a partition that a Failover moved meanwhile with its new home, and reports it', async () => {
    const run = await movedOnScenario(false);

    expect(run.rollback).toMatchObject({
      restored: [],
      leftAlone: [{ partition: run.partition, home: B, epoch: run.afterFailover!.epoch }],
    });
    expect(run.entry).toMatchObject({ home: B, state: 'active', epoch: run.afterFailover!.epoch });
    expect(run.later.status).toBe(200);
    expect(run.later.headers['X-Multiactive-Region']).toBe(B);
    expect(run.later.body.state).toMatchObject({ balance: 22 });
    await converge(run.cluster, B, run.id);
    expectClean(await run.accounts.check());
  });

  it('with blind-rollback: hands the partition back to the dead old home, which forks the log on return', async () => {
    const run = await movedOnScenario(true);

    expect(run.entry).toMatchObject({ home: A, state: 'active' });
    expect(run.later.status).toBe(200);
    expect(run.later.headers['X-Multiactive-Region']).toBe(A);
    expect(run.later.body.state).toMatchObject({ balance: 17 }); // B's acknowledged 5 is not there
    await converge(run.cluster, A, run.id);
    expect(kindsOf(await run.accounts.check())).toEqual(
      expect.arrayContaining(['core/lost-write', 'fencing/forked-log']),
    );
  });

  async function newHomeWroteScenario(blind: boolean, options: { depositAtB: boolean }) {
    const { cluster, deps, kill, revive, accounts } = await setup();
    const { id, partition } = await accountInA(cluster, accounts);
    const switchover = await switchedToB(deps, partition);
    const atB = options.depositAtB ? await accounts.deposit(B, id, 5) : undefined;
    kill(A); // slow or dead: the probe cannot read it
    await expect(switchover.task('CheckOtherTiers')).rejects.toThrow(/unreachable/);
    switchover.fail('Error');
    const before = await deps.map.read(partition);
    const rollback = blind
      ? withBug('blind-rollback', () => switchover.task('Rollback'))
      : switchover.task('Rollback');
    const outcome = await rollback.then(
      (result) => ({ result, error: undefined }),
      (error: Error) => ({ result: undefined, error }),
    );
    const entry = await untilWritable(deps, partition);
    // While A is still dead, B's clients write on.
    const whileDead = await accounts.deposit(B, id, 1);
    revive(A);
    await untilWritable(deps, partition);
    const later = await accounts.deposit(A, id, 7);
    return {
      cluster,
      deps,
      accounts,
      id,
      partition,
      switchover,
      atB,
      before,
      outcome,
      entry,
      whileDead,
      later,
    };
  }

  it('refuses to move the partition back when the new home acknowledged core writes the old home lacks', async () => {
    const run = await newHomeWroteScenario(false, { depositAtB: true });

    expect(run.atB?.status).toBe(200);
    expect(run.outcome.error).toMatchObject({
      name: 'RollbackRefused',
      partitions: [run.partition],
      message: expect.stringMatching(/us-east-1/),
    });
    // Left with its current home, still active: the refusal did not even fence it.
    expect(run.entry).toMatchObject({ home: B, state: 'active', epoch: run.before!.epoch });
    expect(run.whileDead.status).toBe(200);
    expect(run.later.status).toBe(200);
    expect(run.later.headers['X-Multiactive-Region']).toBe(B);
    expect(run.later.body.state).toMatchObject({ balance: 23 });
    // A Rollback the machine runs again refuses again and changes nothing.
    await expect(run.switchover.task('Rollback')).rejects.toMatchObject({ name: 'RollbackRefused' });
    expect((await run.deps.map.read(run.partition))?.epoch).toBe(run.before!.epoch);
    await converge(run.cluster, B, run.id);
    expectClean(await run.accounts.check());
  });

  it('with blind-rollback: moves the partition back and the old home rewrites seqs the new home acknowledged', async () => {
    const run = await newHomeWroteScenario(true, { depositAtB: true });

    expect(run.outcome.error).toBeUndefined();
    expect(run.entry).toMatchObject({ home: A, state: 'active' });
    expect(run.later.status).toBe(200);
    expect(run.later.headers['X-Multiactive-Region']).toBe(A);
    expect(run.later.body.state).toMatchObject({ balance: 17 });
    await converge(run.cluster, A, run.id);
    expect(kindsOf(await run.accounts.check())).toEqual(
      expect.arrayContaining(['core/lost-write', 'fencing/forked-log']),
    );
  });

  it('refuses to move the partition back to an old home that is dead, and keeps it writable', async () => {
    const run = await newHomeWroteScenario(false, { depositAtB: false });

    expect(run.outcome.error).toMatchObject({
      name: 'RollbackRefused',
      message: expect.stringMatching(/us-east-1 is unreachable/),
    });
    expect(run.entry).toMatchObject({ home: B, state: 'active' });
    expect(run.whileDead.status).toBe(200);
    await converge(run.cluster, B, run.id);
    expectClean(await run.accounts.check());
  });

  it('with blind-rollback: homes the partition in the dead region, so its core writes fail', async () => {
    const run = await newHomeWroteScenario(true, { depositAtB: false });

    expect(run.entry).toMatchObject({ home: A, state: 'active' });
    expect(run.whileDead.status).toBe(503);
  });

  it('moves the partition back when the old home holds every core event of the new home', async () => {
    const { cluster, deps, accounts } = await setup();
    const { id, partition } = await accountInA(cluster, accounts);
    const switchover = await switchedToB(deps, partition);
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);
    await converge(cluster, B, id); // A received B's write
    switchover.fail('ProbeFailed');

    const rollback = await switchover.task('Rollback');

    expect(rollback).toMatchObject({ restored: [{ partition, home: A }], leftAlone: [] });
    const entry = await untilWritable(deps, partition);
    expect(entry).toMatchObject({ home: A, state: 'active' });
    const later = await accounts.deposit(A, id, 7);
    expect(later.headers['X-Multiactive-Region']).toBe(A);
    expect(later.body.state).toMatchObject({ balance: 22 });
    await converge(cluster, A, id);
    expectClean(await accounts.check());
  });

  async function switchBackScenario(blind: boolean) {
    const { cluster, deps, accounts } = await setup();
    const { id, partition } = await accountInA(cluster, accounts);
    // A was lost: a Failover moved p to B, which took a deposit; A returned and caught up.
    const moved = await movePartition(deps, { partition, from: A, to: B });
    await openFailoverRecord(deps.register, {
      region: A,
      trigger: 'test',
      failedOverAt: Date.now(),
      moves: [{ partition, from: A, to: B }],
      watermarks: {},
    });
    await sleep(Math.max(0, moved!.activeFrom - Date.now()) + 20);
    expect((await accounts.deposit(B, id, 5)).status).toBe(200);
    await converge(cluster, B, id);
    const failback = execution(deps, 'failback', { region: A, switchBack: true }, 'switchBackRun');
    await failback.task('SwitchBackFence');
    for (let poll = 0; (await failback.task('SwitchBackCheckWatermark')).caughtUp !== true; poll++) {
      expect(poll).toBeLessThan(50);
      await sleep(20);
    }
    await failback.task('SwitchBackMoveHome');
    await failback.task('SwitchBackUnfence');
    // The Unfence committed, but its task failed (a Lambda timeout): the machine runs the rollback.
    failback.fail('States.Timeout');
    await untilWritable(deps, partition);
    expect((await accounts.deposit(A, id, 7)).status).toBe(200);
    const rollback = (
      blind
        ? withBug('blind-rollback', () => failback.task('SwitchBackRollback'))
        : failback.task('SwitchBackRollback')
    ).then(
      () => undefined,
      (error: Error) => error,
    );
    const error = await rollback;
    const entry = await untilWritable(deps, partition);
    const later = await accounts.deposit(B, id, 1);
    return { cluster, accounts, id, partition, error, entry, later };
  }

  it('refuses a switch-back rollback once the returning region acknowledged writes the failover home lacks', async () => {
    const run = await switchBackScenario(false);

    expect(run.error).toMatchObject({ name: 'RollbackRefused', partitions: [run.partition] });
    expect(run.entry).toMatchObject({ home: A, state: 'active' });
    expect(run.later.headers['X-Multiactive-Region']).toBe(A);
    expect(run.later.body.state).toMatchObject({ balance: 23 });
    await converge(run.cluster, A, run.id);
    expectClean(await run.accounts.check());
  });

  it('with blind-rollback: the switch-back rollback hands the partition to a home without the acknowledged write', async () => {
    const run = await switchBackScenario(true);

    expect(run.error).toBeUndefined();
    expect(run.entry).toMatchObject({ home: B, state: 'active' });
    expect(run.later.headers['X-Multiactive-Region']).toBe(B);
    expect(run.later.body.state).toMatchObject({ balance: 16 }); // A's acknowledged 7 is not there
    await converge(run.cluster, B, run.id);
    expect(kindsOf(await run.accounts.check())).toEqual(
      expect.arrayContaining(['core/lost-write', 'fencing/forked-log']),
    );
  });

  it('skips a partition another execution left fenced, until a Switchover takes that run over', async () => {
    const { cluster, deps, accounts } = await setup();
    const { partition } = await accountInA(cluster, accounts);
    const dead = execution(deps, 'switchover', { partitions: [partition], to: B });
    await dead.task('Fence'); // ...and the execution died there (its Rollback never got a quorum)

    const next = execution(deps, 'switchover', { partitions: [partition], to: B });
    expect(await next.task('Fence')).toMatchObject({
      moves: [],
      skipped: [{ partition, why: expect.stringContaining(String((dead.state.run as { id: string }).id)) }],
    });
    const adopting = execution(deps, 'switchover', {
      partitions: [partition],
      to: B,
      takeOver: [(dead.state.run as { id: string }).id],
    });
    expect(await adopting.task('Fence')).toMatchObject({ moves: [{ partition, from: A, to: B }] });
    adopting.fail('WatermarkTimeout');
    expect(await adopting.task('Rollback')).toMatchObject({ restored: [{ partition, home: A }] });
    // The dead execution's own Rollback, should it run after all, no longer touches the partition.
    expect(await dead.task('Rollback')).toMatchObject({ leftAlone: [{ partition }] });
    expect(await deps.map.read(partition)).toMatchObject({ home: A, state: 'active' });
  });
});
