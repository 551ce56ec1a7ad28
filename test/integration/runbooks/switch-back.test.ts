import { describe, expect, it } from 'vitest';
import { openFailoverRecord } from '../../../lib/runbooks/failover-record.ts';
import { createRunbookDispatcher, movePartition, type RunbookDeps } from '../../../lib/runbooks/index.ts';
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

const RETURNING: RegionName = 'us-east-1';
const STAND_IN: RegionName = 'eu-west-1';

const runbookDeps = (cluster: Cluster, region: RegionName) => clusterRunbookDeps(cluster, region);

type State = Record<string, unknown>;

let keys = 0;

/**
 * A command, retried while it answers 503 (+ Retry-After: quorum or peer briefly unavailable on a busy
 * machine) under one idempotency key, so a retry never applies it twice.
 */
async function commandOk(cell: Parameters<typeof command>[0], type: string, id: string, body: object) {
  const keyed = { ...body, idempotencyKey: `switch-back-${process.pid}-${++keys}` };
  let answer = await command(cell, type, id, keyed);
  for (let attempt = 0; attempt < 10 && answer.status === 503; attempt++) {
    await sleep(200);
    answer = await command(cell, type, id, keyed);
  }
  return answer;
}

/** The Failback machine's switch-back path: fence, CheckWatermark polled `polls` times, then on or Rollback. */
async function switchBack(deps: RunbookDeps, polls: number) {
  const run = createRunbookDispatcher(deps);
  const state: State = { region: RETURNING, switchBack: true };
  const task = async (name: string) => {
    const key = name[0]!.toLowerCase() + name.slice(1);
    state[key] = await run({ runbook: 'failback', task: name, input: state });
    return state[key] as State;
  };
  await task('SwitchBackFence');
  for (let attempt = 1; attempt <= polls; attempt++) {
    if ((await task('SwitchBackCheckWatermark')).caughtUp === true) {
      for (const name of ['SwitchBackMoveHome', 'SwitchBackUnfence']) await task(name);
      return { state, outcome: 'switched-back' as const };
    }
    await sleep(20);
  }
  state.error = { Error: 'WatermarkTimeout' };
  await task('SwitchBackRollback');
  return { state, outcome: 'rolled-back' as const };
}

/**
 * us-east-1 homed an account's partition, "failed over" to eu-west-1 (moved there, failover record open),
 * and eu-west-1 has since written a deposit that us-east-1 has not received.
 */
async function failedOverWithNewWrite() {
  const cluster = await startCluster({ leaseMs: 300, skewMarginMs: 50 });
  const { cells } = cluster;
  const id = cluster.freshId('switchback');
  expect((await commandOk(cells[RETURNING], 'account', id, openAccount())).status).toBe(200);
  await cluster.replicate(RETURNING, STAND_IN, 'account', id);
  const partition = (await cells[RETURNING].events.loadStream('account', id))[0]!.partition;
  const deps = runbookDeps(cluster, STAND_IN);
  const moved = await movePartition(deps, { partition, from: RETURNING, to: STAND_IN });
  await openFailoverRecord(deps.register, {
    region: RETURNING,
    trigger: 'test',
    failedOverAt: Date.now(),
    moves: [{ partition, from: RETURNING, to: STAND_IN }],
    watermarks: {},
  });
  await sleep(Math.max(0, moved!.activeFrom - Date.now()) + 50);
  const written = await commandOk(cells[STAND_IN], 'account', id, deposit(7));
  expect(written.status).toBe(200);
  expect(written.headers['X-Multiactive-Region']).toBe(STAND_IN);
  return { cluster, id, partition, deps };
}

describe('Failback switch-back (three regions on DynamoDB Local)', () => {
  it('rolls back when the returning region has not caught up: the stand-in keeps the partition', async () => {
    const { cluster, id, partition, deps } = await failedOverWithNewWrite();

    const { state, outcome } = await switchBack(deps, 3);

    expect(outcome).toBe('rolled-back');
    expect(state.switchBackCheckWatermark).toMatchObject({
      caughtUp: false,
      partitions: [{ partition, missing: 1, sourceFenced: true }],
    });
    expect(state.switchBackMoveHome).toBeUndefined();
    const entry = await deps.map.read(partition);
    expect(entry).toMatchObject({ home: STAND_IN, state: 'active' });
    expect(await cluster.cells[RETURNING].events.loadStream('account', id)).toHaveLength(1);
    await sleep(Math.max(0, entry!.activeFrom - Date.now()) + 50);
    const after = await commandOk(cluster.cells[STAND_IN], 'account', id, deposit(1));
    expect(after.status).toBe(200);
    expect(after.headers['X-Multiactive-Region']).toBe(STAND_IN);
  });

  it('moves the partition home once the returning region holds every event of the stand-in', async () => {
    const { cluster, id, partition, deps } = await failedOverWithNewWrite();
    await cluster.replicate(STAND_IN, RETURNING, 'account', id);

    const { state, outcome } = await switchBack(deps, 3);

    expect(outcome).toBe('switched-back');
    expect(state.switchBackFence).toMatchObject({ moves: [{ partition, from: STAND_IN, to: RETURNING }] });
    expect(state.switchBackCheckWatermark).toMatchObject({
      caughtUp: true,
      partitions: [{ partition, missing: 0 }],
    });
    const entry = await deps.map.read(partition);
    expect(entry).toMatchObject({ home: RETURNING, state: 'active' });
    await sleep(Math.max(0, entry!.activeFrom - Date.now()) + 50);
    const after = await commandOk(cluster.cells[RETURNING], 'account', id, deposit(1));
    expect(after.status).toBe(200);
    expect(after.headers['X-Multiactive-Region']).toBe(RETURNING);
    expect(after.body.state).toMatchObject({ balance: 8 });
  });
});
