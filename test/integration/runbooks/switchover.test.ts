import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import {
  type Cluster,
  command,
  deposit,
  openAccount,
  type RegionName,
  sleep,
  startCluster,
} from '../routing/cluster.ts';
import { clusterRunbookDeps } from './runbook-cells.ts';

const runbookDeps = (cluster: Cluster, region: RegionName) => clusterRunbookDeps(cluster, region);

type State = Record<string, unknown>;

/**
 * Runs the Switchover machine's path: Fence, CheckWatermark polled, MoveHome, Unfence, VerifyProbe,
 * CheckOtherTiers polled (`polls` polls in all, `between` before each), or Rollback on a timeout.
 */
async function switchover(
  deps: RunbookDeps,
  input: State,
  polls: number,
  between?: (task: string) => Promise<void>,
) {
  const run = createRunbookDispatcher(deps);
  const task = async (name: string, state: State) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'switchover', task: name, input: state });
    return state[key] as State;
  };
  const state: State = { ...input };
  let left = polls;
  const poll = async (name: string) => {
    for (; left > 0; left--) {
      await between?.(name);
      if ((await task(name, state)).caughtUp === true) return true;
      await sleep(20);
    }
    return false;
  };
  await task('Fence', state);
  if (await poll('CheckWatermark')) {
    for (const name of ['MoveHome', 'Unfence', 'VerifyProbe']) await task(name, state);
    left--;
    if (await poll('CheckOtherTiers')) return { state, outcome: 'succeeded' as const };
  }
  state.error = { Error: 'WatermarkTimeout' };
  await task('Rollback', state);
  return { state, outcome: 'rolled-back' as const };
}

const profileName = (name: string) => ({ type: 'SetDisplayName', payload: { displayName: name } });

describe('Switchover runbook tasks (three regions on DynamoDB Local)', () => {
  it('moves a partition once the target holds its events: core fenced meanwhile, important writes go on', async () => {
    const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
    const { cells } = cluster;
    const id = cluster.freshId('switch');
    expect((await command(cells['us-east-1'], 'account', id, openAccount())).status).toBe(200);
    expect((await command(cells['us-east-1'], 'account', id, deposit(10))).status).toBe(200);
    const partition = (await cells['us-east-1'].events.loadStream('account', id))[0]!.partition;
    const deps = runbookDeps(cluster, 'eu-west-1');
    let duringFence: Array<{ core: number; important: number }> = [];

    const { state, outcome } = await switchover(
      deps,
      { partitions: [partition], to: 'eu-west-1' },
      5,
      async (task) => {
        if (task !== 'CheckWatermark') return; // after the unfence, a deposit would just go to the new home
        const core = (await command(cells['us-east-1'], 'account', id, deposit(1))).status;
        const important = (await command(cells['ap-southeast-1'], 'profile', id, profileName('x'))).status;
        duringFence = [...duringFence, { core, important }];
        await cluster.replicate('us-east-1', 'eu-west-1', 'account', id);
      },
    );

    expect(outcome).toBe('succeeded');
    expect(duringFence[0]!.core).not.toBe(200);
    expect(duringFence[0]!.important).toBe(200);
    expect(await cells['us-east-1'].events.loadStream('account', id)).toHaveLength(2);
    expect(state.checkWatermark).toMatchObject({ caughtUp: true, partitions: [{ partition, missing: 0 }] });
    expect(state.verifyProbe).toMatchObject({ probed: [{ partition }] });
    expect(await deps.map.read(partition)).toMatchObject({ home: 'eu-west-1', state: 'active' });

    const writableFrom = (state.unfence as { writableFrom: number }).writableFrom;
    await sleep(Math.max(0, writableFrom - Date.now()) + 50);
    const moved = await command(cells['us-east-1'], 'account', id, deposit(5));
    expect(moved.status).toBe(200);
    expect(moved.headers['X-Multiactive-Region']).toBe('eu-west-1');
    expect(moved.body.state).toMatchObject({ balance: 15 });
  });

  it('waits for important writes made before the fence, not for those users keep making at the source', async () => {
    const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
    const { cells } = cluster;
    const us = cells['us-east-1'];
    const id = cluster.freshId('busy');
    expect((await command(us, 'account', id, openAccount())).status).toBe(200);
    expect((await command(us, 'profile', id, profileName('before-fence'))).status).toBe(200);
    const partition = (await us.events.loadStream('account', id))[0]!.partition;
    const deps = runbookDeps(cluster, 'eu-west-1');
    let poll = 0;

    const { state, outcome } = await switchover(
      deps,
      { partitions: [partition], to: 'eu-west-1' },
      4,
      async () => {
        poll++;
        await sleep(60); // past the fence + skew margin: what the source takes now is a new write
        if (poll === 1) await cluster.replicate('us-east-1', 'eu-west-1', 'account', id);
        if (poll === 2) await cluster.replicate('us-east-1', 'eu-west-1', 'profile', id);
        // Users near the source keep writing their profile; these are never copied to the target here.
        expect((await command(us, 'profile', id, profileName(`during-${poll}`))).status).toBe(200);
      },
    );

    expect(outcome).toBe('succeeded');
    // The core move waited for the account's events only (first poll); the execution then waited for the
    // profile write made before the fence (second poll), not for those made after it.
    expect(poll).toBe(2);
    expect(state.checkWatermark).toMatchObject({ caughtUp: true, partitions: [{ partition, missing: 0 }] });
    expect(state.checkOtherTiers).toMatchObject({ caughtUp: true, partitions: [{ partition, missing: 0 }] });
    expect(await deps.map.read(partition)).toMatchObject({ home: 'eu-west-1', state: 'active' });
    const atTarget = await cells['eu-west-1'].events.loadStream('profile', id);
    const atSource = await us.events.loadStream('profile', id);
    expect(atTarget.length).toBeLessThan(atSource.length); // the newest writes were not waited for
  });

  it('rolls back to the old home when the target never catches up (watermark timeout)', async () => {
    const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
    const { cells } = cluster;
    const id = cluster.freshId('rollback');
    expect((await command(cells['us-east-1'], 'account', id, openAccount())).status).toBe(200);
    const [opened] = await cells['us-east-1'].events.loadStream('account', id);
    const partition = opened!.partition;
    // The target holds another event at the account's seq 1 (a branch of its own): CheckWatermark's direct
    // delivery of the old home's head is refused there (slot taken), so the target never catches up.
    await cells['eu-west-1'].events.appendEvents([{ ...opened!, eventId: ulid(), origin: 'eu-west-1' }], {
      tier: 'core',
    });
    const deps = runbookDeps(cluster, 'eu-west-1');

    const { state, outcome } = await switchover(deps, { from: 'us-east-1', to: 'eu-west-1' }, 3);

    expect(outcome).toBe('rolled-back');
    expect(state.checkWatermark).toMatchObject({ caughtUp: false });
    expect((state.fence as { moves: Array<{ partition: number }> }).moves.map((m) => m.partition)).toContain(
      partition,
    );
    const entry = await deps.map.read(partition);
    expect(entry).toMatchObject({ home: 'us-east-1', state: 'active' });
    await sleep(Math.max(0, entry!.activeFrom - Date.now()) + 50);
    const after = await command(cells['us-east-1'], 'account', id, deposit(3));
    expect(after.status).toBe(200);
    expect(after.headers['X-Multiactive-Region']).toBe('us-east-1');
    // A second Rollback (the machine may retry it) changes nothing.
    const again = await createRunbookDispatcher(deps)({
      runbook: 'switchover',
      task: 'Rollback',
      input: state,
    });
    expect(again).toMatchObject({
      restored: expect.arrayContaining([expect.objectContaining({ home: 'us-east-1' })]),
    });
    expect((await deps.map.read(partition))?.epoch).toBe(entry!.epoch);
  });

  it('refuses an input with neither partitions nor from', async () => {
    const cluster = await startCluster();
    const run = createRunbookDispatcher(runbookDeps(cluster, 'eu-west-1'));
    await expect(
      run({ runbook: 'switchover', task: 'Fence', input: { to: 'eu-west-1' } }),
    ).rejects.toMatchObject({
      name: 'InvalidRunbookInput',
    });
  });
});
