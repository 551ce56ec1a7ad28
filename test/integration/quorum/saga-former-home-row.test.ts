import { describe, expect, it } from 'vitest';
import { exampleSagas } from '../../../examples/bank/index.ts';
import {
  cancelSaga,
  DynamoDueSagaSource,
  decideSaga,
  type SagaState,
  sagaCatalog,
  sweepSagas,
  trySaga,
} from '../../../lib/sagas/index.ts';
import { AppendTimeoutError } from '../../../lib/store/index.ts';
import { REGIONS_3, runFailover, startQuorumCluster, untilWritable } from './quorum-cluster.ts';
import { TRANSFER_TIMERS, transferBegunAt } from './transfer-setup.ts';

const U = 'us-east-1';
const E = 'eu-west-1';
const P = 'ap-southeast-1';

/**
 * The chaos run's `transfers/in-doubt ... @<region> still cancelling` (prod, seed 1): a transfer ended
 * everywhere but in one region, whose row still said `cancelling` while its log held `SagaCancelled`.
 *
 * 1. U is the transfer's home. Its coordinator's last step (RecordStep: ParticipantCancelled, SagaCancelled)
 *    lands in U's log, but the append's answer times out (AppendTimeoutError): U's row is not written and
 *    stays `cancelling`, due for the sweep.
 * 2. U's stream publishes the events: E and P apply them, their rows say `cancelled`.
 * 3. U is lost; Failover moves U's partitions, the transfer's with them, to E. U comes back.
 * 4. Nothing catches U's row up: its applier never applies U's own events, no command or read reaches a
 *    region that is not the home, and U's sweep skips a transfer homed elsewhere, every sweep, for good.
 *    The row differs from the other regions' and U's due index lists the transfer as in progress.
 * The fix: the sweep catches up, from the local log, the row of every overdue transfer homed elsewhere.
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3);
  const home = cluster.regions[U]!;
  const { coordinator, sagaId, from, task } = await transferBegunAt(cluster, U);
  await trySaga(coordinator, task);
  expect(await decideSaga(coordinator, { ...task, tryError: { Error: 'Test' } })).toMatchObject({
    outcome: 'cancel',
  });

  // 1. The step that ends the transfer lands, its answer is lost: the row is not written.
  const original = home.events.appendEvents.bind(home.events);
  home.events.appendEvents = async (batch, options) => {
    const result = await original(batch, options);
    if (batch.some((e) => e.type === 'SagaCancelled')) {
      home.events.appendEvents = original;
      throw new AppendTimeoutError(sagaId, options.timeoutMs ?? 0);
    }
    return result;
  };
  await expect(cancelSaga(coordinator, task)).rejects.toThrow();
  const status = async (region: string) =>
    (JSON.parse((await cluster.regions[region]!.states.getState('transfer', sagaId))!.state) as SagaState)
      .status;
  const logged = (await home.events.loadStream('transfer', sagaId)).map((e) => e.type);
  expect([logged.at(-1), await status(U)]).toEqual(['SagaCancelled', 'cancelling']);

  // 2. Replicated (the bus, by hand).
  for (const r of [E, P]) {
    await cluster.replicate(U, r, 'account', from);
    await cluster.replicate(U, r, 'transfer', sagaId);
  }
  expect([await status(E), await status(P)]).toEqual(['cancelled', 'cancelled']);

  // 3. U lost, its partitions fail over to E; U comes back.
  cluster.links.isolate(U);
  await untilWritable(await runFailover(cluster, E, U), cluster);
  cluster.links.heal();

  // 4. U's sweep, well after the transfer's resume time.
  const now = () => Date.now() + 120_000;
  const due = new DynamoDueSagaSource({ client: home.doc, tableName: cluster.tables.state });
  const started: string[] = [];
  const report = await sweepSagas({
    region: U,
    partitions: cluster.topology.partitions,
    sagas: sagaCatalog(exampleSagas),
    due,
    homes: home.multi.ownership,
    starter: { start: async (i) => void started.push(i.sagaId) },
    resumeEveryMs: TRANSFER_TIMERS.resumeAfterMs,
    rows: home.commands,
    now,
  });
  const stillDue = (await due.overdue('transfer', now(), 100)).map((d) => d.sagaId);
  return { report, started, rowAtU: await status(U), stillDue, sagaId };
}

describe('a transfer whose last step landed at a home that lost the transfer since (core.ack quorum)', {
  timeout: 180_000,
}, () => {
  it("ends in every region's row: the former home's sweep catches its row up from its log", async () => {
    const { report, started, rowAtU, stillDue, sagaId } = await scenario();
    expect(rowAtU).toBe('cancelled');
    expect(stillDue).not.toContain(sagaId);
    // Homed elsewhere: resumed by no execution here.
    expect(started).toEqual([]);
    expect([report.skipped, report.caughtUp]).toEqual([1, 1]);
  });
});
