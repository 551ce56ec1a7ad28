import { describe, expect, it } from 'vitest';
import type { AccountState } from '../../../examples/bank/index.ts';
import { catchUpCoreRow } from '../../../lib/commands/execute.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRunbookDispatcher, RUNBOOK_TASKS } from '../../../lib/runbooks/index.ts';
import { confirmSaga, decideSaga, trySaga } from '../../../lib/sagas/index.ts';
import { REGIONS_3, runTasks, startQuorumCluster, untilWritable } from './quorum-cluster.ts';
import { transferBegunAt } from './transfer-setup.ts';

const HOME = 'us-east-1';
const NEW_HOME = 'eu-west-1';
const PEERS = REGIONS_3.filter((r) => r !== HOME);

/**
 * Under `core.ack: 'quorum'`, a saga step whose quorum copy timed out is retried by the Saga machine:
 *
 *   1. Confirm: SettleHold on the source at its home H. The HoldSettled event is appended to H's log, its
 *      copies to the peers fail: the step answers 503 and the task fails (outcome unknown).
 *   2. The machine retries Confirm. SettleHold finds the hold settled: a no-op, nothing written, 200. The
 *      saga records the step (on its own aggregate) and credits the target (another aggregate): neither
 *      write carries the source account's HoldSettled to the peers.
 *   3. H is lost before its stream publishes HoldSettled. Failover collects from the survivors: the
 *      source still has its hold, unsettled, while the target is credited and the transfer confirmed.
 *      Money is created: the acknowledged step is lost.
 *
 * The fix: a core command decided as a no-op under quorum ack copies the aggregate's head to a majority
 * before it answers (bug switch `noop-skips-quorum-copy` skips that copy).
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3);
  const { coordinator, from, to, task } = await transferBegunAt(cluster, HOME);
  await trySaga(coordinator, task);
  expect(await decideSaga(coordinator, task)).toMatchObject({ outcome: 'confirm' });

  // 1. The settlement's copies cannot reach the peers: Confirm fails after the local append.
  for (const peer of PEERS) cluster.links.cutCopies(HOME, peer);
  await expect(confirmSaga(coordinator, task)).rejects.toThrow();
  const settled = (region: string) =>
    cluster.regions[region]!.events.loadStream('account', from).then((log) =>
      log.some((e) => e.type === 'HoldSettled'),
    );
  expect(await settled(HOME)).toBe(true);
  for (const peer of PEERS) expect(await settled(peer)).toBe(false);

  // 2. The machine's retry: the settlement is a no-op now; the saga records it and credits the target.
  cluster.links.heal();
  expect(await confirmSaga(coordinator, task)).toEqual({ status: 'confirmed' });

  // 3. The home is lost (its stream never published); Failover runs in the new home.
  cluster.links.isolate(HOME);
  const run = createRunbookDispatcher(cluster.runbookDeps(NEW_HOME));
  const state = await runTasks(run, 'failover', RUNBOOK_TASKS.failover, { region: HOME, trigger: 'test' });
  await untilWritable(state, cluster);
  const survivor = cluster.regions[NEW_HOME]!;
  // Replication between the survivors resumes; the new home's rows are what it decides on next.
  for (const id of [from, to])
    await cluster.replicate(PEERS.find((p) => p !== NEW_HOME)!, NEW_HOME, 'account', id);
  const account = survivor.commands.registry.get('account');
  const row = async (id: string) =>
    JSON.parse((await catchUpCoreRow(survivor.commands, account, id)).state) as AccountState;
  return { source: await row(from), target: await row(to), settledAtSurvivors: await settled(NEW_HOME) };
}

describe('a saga step retried after its quorum copy timed out (core.ack quorum, 3 regions)', {
  timeout: 120_000,
}, () => {
  it('is on a majority before the retry answers: the settlement survives the loss of the home, money is conserved', async () => {
    const { source, target, settledAtSurvivors } = await scenario();
    expect(settledAtSurvivors).toBe(true);
    expect(source).toMatchObject({ balance: 70, held: 0 });
    expect(target).toMatchObject({ balance: 30 });
    expect(source.balance + target.balance).toBe(100);
  });

  it('with the bug switch noop-skips-quorum-copy, the settlement is lost with the home and money is created', async () => {
    const { source, target, settledAtSurvivors } = await withBug('noop-skips-quorum-copy', scenario);
    expect(settledAtSurvivors).toBe(false);
    expect(target).toMatchObject({ balance: 30 });
    expect(source).toMatchObject({ balance: 100, held: 30 });
    expect(source.balance + target.balance).toBe(130);
  });
});
