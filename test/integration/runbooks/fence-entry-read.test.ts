import { afterEach, describe, expect, it } from 'vitest';
import { disableAllBugs, withBug } from '../../../lib/faults/index.ts';
import { type PartitionEntry, type PartitionMap, partitionOf } from '../../../lib/ownership/index.ts';
import { closeFailoverRecord, openFailoverRecord } from '../../../lib/runbooks/failover-record.ts';
import { movePartition, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cluster, command, deposit, type RegionName, sleep, startCluster } from '../routing/cluster.ts';
import { CheckedAccounts } from './checked-history.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';
import { checkUntilCaughtUp, moveAtOnce, PARTITIONS, runbookSteps } from './switchover-steps.ts';

/**
 * Every fence a re-homing execution makes is a compare-and-set on the entry it read and decided on
 * (`fenceEntry`, `takeOverFence`): the Switchover's Fence (and so Failback's SwitchBackFence), an operator's
 * takeover of a dead execution's fence, and Rollback (Switchover's and Failback's SwitchBackRollback).
 * Each test races another execution between the read and the fence; the bug switch
 * `rollback-fences-any-active` brings back the old rule (a run may fence any active entry, a takeover any
 * fence of the dead run), under which the execution fences an entry other than the one it decided on.
 */
const A: RegionName = 'us-east-1';
const B: RegionName = 'eu-west-1';
const C: RegionName = 'ap-southeast-1';

let shared: Promise<Cluster> | undefined;
const cluster = () => {
  shared ??= startCluster({ leaseMs: 1_500, skewMarginMs: 500 });
  return shared;
};

/** `map`, whose first read runs `race` after its answer was read (so the caller decides on a stale entry). */
function racedMap(map: PartitionMap, race: () => Promise<void>): PartitionMap {
  let pending: (() => Promise<void>) | undefined = race;
  const raced = Object.create(map) as PartitionMap;
  raced.read = async (partition: number): Promise<PartitionEntry | null> => {
    const entry = await map.read(partition);
    const run = pending;
    pending = undefined;
    if (run) await run();
    return entry;
  };
  return raced;
}

/** An account homed in A, with a deposit, replicated to B. */
async function accountInA(c: Cluster, name: string) {
  const accounts = new CheckedAccounts(c);
  const id = c.freshId(name);
  expect((await accounts.open(A, id)).status).toBe(200);
  expect((await accounts.deposit(A, id, 10)).status).toBe(200);
  await c.replicate(A, B, 'account', id);
  return { id, partition: partitionOf(id, PARTITIONS) };
}

/** R2 moves the account's partition to C (cooperative, active at once) and C acknowledges W: W's id. */
async function newerSwitchoverToC(c: Cluster, id: string): Promise<string> {
  await moveAtOnce(c, runbookSteps(c, C), { id, to: C, run: `r2-${id}` });
  const w = await command(c.cells[C], 'account', id, deposit(7));
  expect(w.status).toBe(200);
  return (await c.cells[C].events.loadStream('account', id)).at(-1)!.eventId;
}

const fencedMoves = (result: Record<string, unknown>) =>
  (result as { moves: Array<{ partition: number; from: string; to: string }> }).moves;

/** Switchover R1 (-> B) reads A's entry; before its fence, R2 moves the partition to C and C takes W. */
async function fenceRacingSwitchover(c: Cluster) {
  const { id, partition } = await accountInA(c, 'fence-race');
  let acknowledged = '';
  const map = racedMap(c.cells[B].map, async () => {
    acknowledged = await newerSwitchoverToC(c, id);
  });
  const r1 = runbookSteps(c, B, { deps: { map } });
  Object.assign(r1.state, { partitions: [partition], to: B, run: { id: `r1-${id}` } });
  const fence = await r1.task('Fence');
  const entry = (await c.cells[A].map.read(partition))!;
  return { id, partition, r1, acknowledged, recorded: fencedMoves(fence), entry };
}

/** The dead run r0 fenced A; the takeover reads that fence; r0 then moves the home to B (still fenced). */
async function takeoverRacingDeadRun(c: Cluster) {
  const { id, partition } = await accountInA(c, 'takeover-race');
  const r0 = runbookSteps(c, B);
  Object.assign(r0.state, { partitions: [partition], to: B, run: { id: `r0-${id}` } });
  await r0.task('Fence');
  const map = racedMap(c.cells[C].map, async () => {
    expect((await r0.task('MoveHome')).moved).toEqual([
      expect.objectContaining({ home: B, state: 'fenced' }),
    ]);
  });
  const r1 = runbookSteps(c, C, { deps: { map } });
  Object.assign(r1.state, {
    partitions: [partition],
    to: C,
    run: { id: `r1-${id}` },
    takeOver: [`r0-${id}`],
  });
  const fence = await r1.task('Fence');
  const entry = (await c.cells[A].map.read(partition))!;
  return { recorded: fencedMoves(fence), entry };
}

/**
 * Failback of A: the failover moved the partition to B (which acknowledged a deposit since); the switch-back
 * F moves it back to A, active at once; a later step fails and SwitchBackRollback runs, during whose first
 * check a newer Switchover R2 moves it A -> C and C acknowledges W.
 */
async function switchBackRollbackRacingSwitchover(c: Cluster) {
  const { id, partition } = await accountInA(c, 'switch-back-race');
  const failover = clusterRunbookDeps(c, B);
  const moved = await movePartition(failover, { partition, from: A, to: B });
  // The cluster is shared: the record a previous scenario opened for A is closed first.
  await closeFailoverRecord(failover.register, A, Date.now());
  await openFailoverRecord(failover.register, {
    region: A,
    trigger: 'test',
    failedOverAt: Date.now(),
    moves: [{ partition, from: A, to: B }],
    watermarks: {},
  });
  await sleep(Math.max(0, moved!.activeFrom - Date.now()) + 50);
  expect((await command(c.cells[B], 'account', id, deposit(3))).status).toBe(200);

  let acknowledged = '';
  let raced = false;
  const observe: RunbookDeps['observe'] = async () => {
    if (!raced) {
      raced = true;
      acknowledged = await newerSwitchoverToC(c, id);
    }
    return { reachable: true, heartbeatAgeMs: 0 };
  };
  const f = runbookSteps(c, B, { runbook: 'failback', deps: { observe } });
  Object.assign(f.state, { region: A, switchBack: true, switchBackRun: `f-${id}` });
  await f.task('SwitchBackFence');
  await checkUntilCaughtUp(c, f, { id, to: A, task: 'SwitchBackCheckWatermark' });
  const back = await f.task('SwitchBackMoveHome');
  expect(back.moved).toEqual([expect.objectContaining({ home: A, state: 'active' })]);

  f.state.error = { Error: 'States.TaskFailed' };
  const rollback = await f.task('SwitchBackRollback').catch((error: unknown) => ({ error: String(error) }));
  expect(raced).toBe(true);
  const entry = (await c.cells[A].map.read(partition))!;
  const homeLog = await c.cells[entry.home as RegionName].events.loadStream('account', id);
  const outcome =
    'error' in rollback
      ? String(rollback.error)
      : (rollback as { restored: unknown[] }).restored.length > 0
        ? 'restored'
        : 'left-alone';
  return { outcome, home: entry.home, homeHoldsW: homeLog.some((e) => e.eventId === acknowledged) };
}

describe('a re-homing execution fences only the entry it read', { timeout: 120_000 }, () => {
  afterEach(() => disableAllBugs());

  it("Switchover's Fence fences the newer home it finds on a re-read, and the move keeps that home's write", async () => {
    const c = await cluster();
    const { id, partition, r1, acknowledged, recorded, entry } = await fenceRacingSwitchover(c);
    expect({ recorded, entry: { home: entry.home, state: entry.state, run: entry.run } }).toEqual({
      recorded: [expect.objectContaining({ partition, from: C, to: B })],
      entry: { home: C, state: 'fenced', run: `r1-${id}` },
    });
    await checkUntilCaughtUp(c, r1, { id, to: B });
    await r1.task('VerifyProbe');
    expect((await r1.task('MoveHome')).moved).toEqual([
      expect.objectContaining({ home: B, state: 'active' }),
    ]);
    const log = await c.cells[B].events.loadStream('account', id);
    expect(log.some((e) => e.eventId === acknowledged)).toBe(true);
  });

  it('with rollback-fences-any-active: the Fence fences C but records A, the home it read, as the source', async () => {
    const c = await cluster();
    const { recorded, entry } = await withBug('rollback-fences-any-active', () => fenceRacingSwitchover(c));
    expect({ from: recorded[0]?.from, fencedHome: entry.home }).toEqual({ from: A, fencedHome: C });
  });

  it("an operator's takeover re-stamps the dead run's fence where it is now, and records that home", async () => {
    const c = await cluster();
    const { recorded, entry } = await takeoverRacingDeadRun(c);
    expect({ from: recorded[0]?.from, home: entry.home, state: entry.state }).toEqual({
      from: B,
      home: B,
      state: 'fenced',
    });
  });

  it('with rollback-fences-any-active: the takeover takes the fence at B but records A', async () => {
    const c = await cluster();
    const { recorded, entry } = await withBug('rollback-fences-any-active', () => takeoverRacingDeadRun(c));
    expect({ from: recorded[0]?.from, home: entry.home }).toEqual({ from: A, home: B });
  });

  it("Failback's SwitchBackRollback leaves alone the entry a newer switchover moved on, with its write", async () => {
    const c = await cluster();
    expect(await switchBackRollbackRacingSwitchover(c)).toEqual({
      outcome: 'left-alone',
      home: C,
      homeHoldsW: true,
    });
  });

  it('with rollback-fences-any-active: SwitchBackRollback gives the partition to B without W', async () => {
    const c = await cluster();
    expect(await withBug('rollback-fences-any-active', () => switchBackRollbackRacingSwitchover(c))).toEqual({
      outcome: 'restored',
      home: B,
      homeHoldsW: false,
    });
  });
});
