import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleSagas, transfer } from '../../../examples/bank/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import { homeRowCatchUp, publishStreamRecords } from '../../../lib/replication/index.ts';
import {
  beginSaga,
  DynamoDueSagaSource,
  RoutedCommandPort,
  sagaCatalog,
  sagaIdFor,
  sweepSagas,
} from '../../../lib/sagas/index.ts';
import { AppendTimeoutError, toEventItem } from '../../../lib/store/index.ts';
import { REGIONS_3, startQuorumCluster } from './quorum-cluster.ts';
import { TRANSFER_TIMERS } from './transfer-setup.ts';

const U = 'us-east-1';

/**
 * The chaos run's `transfers/in-doubt ... still trying` (dev, seed 1, load 18): a transfer in progress in
 * every region's row but its home's, which had no row at all, and never ended.
 *
 * 1. The API at U (the transfer's home) begins the transfer: `SagaBegun` lands in U's log, but the
 *    append's answer times out (AppendTimeoutError, 503 to the client): U writes no row and starts no
 *    execution.
 * 2. U's stream publishes the event; the peers apply it, their rows say `trying`.
 * 3. U's sweep finds sagas through the due index of U's rows: it never sees this one. The client, told
 *    "outcome unknown", may never retry; nothing else reads the transfer at U. It stays in doubt for good.
 * The fix: U's publisher, which sees every local append, catches up U's row from U's log as it
 * publishes, so the row, and the due index with it, follow the log within a stream poll.
 */
async function scenario() {
  const cluster = await startQuorumCluster(REGIONS_3, { ack: 'local' });
  const home = cluster.regions[U]!;
  const stamp = Date.now().toString(36);
  const [from, to] = [`src-${stamp}`, `dst-${stamp}`];
  for (const id of [from, to]) {
    const open = { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } };
    expect((await home.post('account', id, open)).status).toBe(200);
  }
  expect((await home.post('account', from, { type: 'Deposit', payload: { amount: 100 } })).status).toBe(200);
  const input = { from, to, amount: 30 };
  const sagaId = sagaIdFor(transfer, input, `key-${stamp}`, cluster.topology.partitions);
  const port = new RoutedCommandPort({
    commands: home.commands,
    router: home.multi.api.routing.router,
    homes: home.multi.ownership,
  });
  const started: string[] = [];
  const starter = { start: async (i: { sagaId: string }) => void started.push(i.sagaId) };

  // 1. SagaBegun lands, its answer is lost: no row, no execution.
  const original = home.events.appendEvents.bind(home.events);
  home.events.appendEvents = async (batch, options) => {
    const result = await original(batch, options);
    if (batch.some((e) => e.type === 'SagaBegun')) {
      home.events.appendEvents = original;
      throw new AppendTimeoutError(sagaId, options.timeoutMs ?? 0);
    }
    return result;
  };
  await expect(
    beginSaga(
      { commands: home.commands, port, starter, ...TRANSFER_TIMERS },
      { saga: transfer, sagaId, input },
    ),
  ).rejects.toBeInstanceOf(AppendTimeoutError);
  const logged = await home.events.loadStream('transfer', sagaId);
  expect([logged.map((e) => e.type), await home.states.getState('transfer', sagaId)]).toEqual([
    ['SagaBegun'],
    undefined,
  ]);

  // 2. U's stream batch through U's publisher (the bus is a sink here: the peers play no part).
  const records: DynamoDBRecord[] = logged.map((event, i) => ({
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: String(100 + i),
      NewImage: marshall(toEventItem('core', event), { removeUndefinedValues: true }) as never,
    },
  }));
  const report = await publishStreamRecords(records, {
    region: U,
    bus: { putEvents: async (entries) => ({ Entries: entries.map((_, i) => ({ EventId: `e${i}` })) }) },
    rows: homeRowCatchUp({ registry: home.commands.registry, events: home.events, states: home.states }),
  });

  // 3. U's sweep, once the transfer is overdue.
  const now = () => Date.now() + 120_000;
  const sweep = await sweepSagas({
    region: U,
    partitions: cluster.topology.partitions,
    sagas: sagaCatalog(exampleSagas),
    due: new DynamoDueSagaSource({ client: home.doc, tableName: cluster.tables.state }),
    homes: home.multi.ownership,
    starter,
    resumeEveryMs: TRANSFER_TIMERS.resumeAfterMs,
    rows: home.commands,
    now,
  });
  return { sagaId, report, sweep, started, row: await home.states.getState('transfer', sagaId) };
}

describe('a transfer whose SagaBegun landed at its home after the append timed out (core.ack local)', {
  timeout: 180_000,
}, () => {
  afterEach(() => disableAllBugs());

  it("is resumed by its home's sweep: the publisher caught the home's row up with its log", async () => {
    const { sagaId, report, sweep, started, row } = await scenario();
    expect(report).toMatchObject({ published: 1, batchItemFailures: [] });
    expect(row).toMatchObject({ seq: 1, dueKey: 'transfer' });
    expect(sweep.resumed).toEqual([sagaId]);
    expect(started).toEqual([sagaId]);
  });

  it('stays in doubt for good with the bug switched on (home-row-left-behind)', async () => {
    enableBugs(['home-row-left-behind']);
    const { report, sweep, started, row } = await scenario();
    expect(report).toMatchObject({ published: 1 });
    expect(row).toBeUndefined();
    expect([sweep.overdue, sweep.resumed, started]).toEqual([0, [], []]);
  });
});
