import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { catchUpCoreRow } from '../../../lib/commands/execute.ts';
import { rebuildRowFromLog, retireCoreBranch } from '../../../lib/commands/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { rebuildRow } from '../../../lib/repair/rows.ts';
import { homeRowCatchUp, publishStreamRecords } from '../../../lib/replication/index.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import { EventStore, StateStore, toEventItem } from '../../../lib/store/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { tableCell } from '../runbooks/runbook-cells.ts';

const topology = bank.topology('dev');
const registry = createRegistry(exampleAggregates, topology);
const account = registry.get('account');
const A = 'us-east-1';
const B = 'eu-west-1';

let a: RegionCell;
beforeAll(async () => {
  const region = await freshRegion(A);
  const events = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
  });
  const states = new StateStore({ client: region.doc, tableName: region.tables.state });
  a = tableCell({ region: A, tables: region, events, states });
});
afterEach(() => disableAllBugs());

function chain(id: string, n: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  for (let seq = 1; seq <= n; seq++)
    out.push(
      seq === 1
        ? sampleEnvelope({
            aggregateId: id,
            seq,
            type: 'AccountOpened',
            payload: { owner: 'o', currency: 'EUR' },
          })
        : sampleEnvelope({ aggregateId: id, seq, prev: out.at(-1)?.hlc ?? null, payload: { amount: 10 } }),
    );
  return out;
}

/** A fresh aggregate id with seq 1..5 in A's log and A's row at 5. */
async function committedLog(tag: string) {
  const id = `${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const committed = chain(id, 5);
  await a.events.appendEvents(committed, { tier: 'core' });
  await rebuildRowFromLog(a, account, id);
  return { id, committed };
}

/** A's event store whose first log read retires `losing` right after reading (before the reader's write). */
function retiringOnFirstRead(
  losing: readonly EventEnvelope[],
  winning: readonly EventEnvelope[],
  reason: string,
) {
  const state = { retired: false };
  const racing = Object.create(a.events) as EventStore;
  racing.loadStream = async (type, aggregateId, options) => {
    const loaded = await a.events.loadStream(type, aggregateId, options);
    if (!state.retired) {
      state.retired = true;
      await retireCoreBranch({
        cell: a,
        queues: [a.conflicts],
        aggregate: account,
        losing,
        winning,
        reason,
      });
    }
    return loaded;
  };
  return { racing, state };
}

const sink = {
  putEvents: async (entries: readonly unknown[]) => ({
    Entries: entries.map((_, i) => ({ EventId: `e${i}` })),
  }),
};

/**
 * Found by an adversarial review of the publisher's home-row catch-up (2026-12-01), an old race of every
 * row catch-up (reads, the applier's stale path, the sweep's catch-up at a former home) that the publisher
 * now triggers on exactly the event concerned:
 * 1. A, the home, has seq 1..5 and its row at 5; its own write at seq 6 (o6) lands, the answer times
 *    out: no row. A loses the partition; the new home B writes its seq 6 (w6, epoch 1).
 * 2. A comes back; its publisher drains its stream, reaches o6, reads A's row (5) and A's log after it
 *    ([o6]) and folds the row to 6.
 * 3. Meanwhile Failback's QueueCoreOrphans retires o6 at A: queued, deleted, then A's row rebuilt from
 *    A's log, a write it skips since the row (still 5) is the fold.
 * 4. The catch-up's put, guarded on the row alone (5), lands: A's row holds o6's 1000, its log does not.
 *    w6 is then delivered; no catch-up moves the row (w6 does not extend o6), and A, home again after the
 *    Failback, decides on money that does not exist.
 * The fix: the catch-up's put holds only while the log still holds the run's newest event (a
 * ConditionCheck in the same transaction); a branch is retired newest first, so a retire that began
 * fails it, and the retry folds the log as it is.
 */
async function race() {
  const { id, committed } = await committedLog('race');
  const orphan = sampleEnvelope({
    aggregateId: id,
    seq: 6,
    prev: committed[4]!.hlc,
    payload: { amount: 1000 },
  });
  await a.events.appendEvents([orphan], { tier: 'core' });
  const winner = sampleEnvelope({
    aggregateId: id,
    seq: 6,
    prev: committed[4]!.hlc,
    origin: B,
    epoch: 1,
    payload: { amount: 1 },
  });
  // The retire runs between the catch-up's read of the log and its put.
  const { racing, state } = retiringOnFirstRead([orphan], [...committed, winner], 'fork');
  const record: DynamoDBRecord = {
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: '100',
      NewImage: marshall(toEventItem('core', orphan), { removeUndefinedValues: true }) as never,
    },
  };
  const report = await publishStreamRecords([record], {
    region: A,
    bus: sink,
    rows: homeRowCatchUp({ registry, events: racing, states: a.states }),
  });
  expect([state.retired, report.batchItemFailures]).toEqual([true, []]);
  // The winning branch's event is delivered to A, and A's row caught up as a read would.
  await a.events.appendEvents([winner], { tier: 'core', received: true });
  const row = await catchUpCoreRow(a, account, id);
  return { row, orphan, winner };
}

describe("a row caught up with its log while a branch of that log is retired (Failback's QueueCoreOrphans)", () => {
  it('never holds the retired event: the put checks the log still holds what it folded', async () => {
    const { row, orphan, winner } = await race();
    expect(row.head).toBe(winner.hlc);
    expect(row.head).not.toBe(orphan.hlc);
    expect(row.seq).toBe(6);
  });

  it('keeps the retired event for good with the bug switched on (unchecked-catch-up)', async () => {
    enableBugs(['unchecked-catch-up']);
    const { row, orphan } = await race();
    expect(row.head).toBe(orphan.hlc);
    expect(JSON.parse(row.state)).toMatchObject({ balance: 1040 });
  });
});

/** A log of 1..5 with its row, and o6 on top of it without a row; `racing` retires `losing` on its first read. */
async function retiringLog(tag: string, losingOf: (o6: EventEnvelope, o7: EventEnvelope) => EventEnvelope[]) {
  const { id, committed } = await committedLog(tag);
  const o6 = sampleEnvelope({
    aggregateId: id,
    seq: 6,
    prev: committed[4]!.hlc,
    origin: B,
    payload: { amount: 1000 },
  });
  const o7 = sampleEnvelope({ aggregateId: id, seq: 7, prev: o6.hlc, origin: B, payload: { amount: 5 } });
  await a.events.appendEvents([o6], { tier: 'core', received: true });
  await a.events.appendEvents([o7], { tier: 'core', received: true });
  const { racing } = retiringOnFirstRead(losingOf(o6, o7), committed, 'quorum-orphan');
  return { id, racing, o6 };
}

describe('the other writers of a core row from its log, while a branch of that log is retired', () => {
  // Repair's row heal (rebuildRow -> rebuildRowFromLog) reads the row and the log, the retire deletes the
  // branch and skips its own rebuild (the row still is the fold), the heal's put lands.
  it("Repair's row heal never stores the retired events", async () => {
    const { id, racing, o6 } = await retiringLog('heal', (o6, o7) => [o6, o7]);
    await rebuildRow({ events: racing, states: a.states }, account, {
      aggregateId: id,
      policy: { strategy: 'lww' } as never,
    });
    const row = await a.states.getState('account', id);
    expect(row?.head).not.toBe(o6.hlc);
    expect(row?.seq).toBe(5);
  });

  it("Repair's row heal stores them with the bug switched on (unchecked-catch-up)", async () => {
    enableBugs(['unchecked-catch-up']);
    const { id, racing } = await retiringLog('heal-bug', (o6, o7) => [o6, o7]);
    await rebuildRow({ events: racing, states: a.states }, account, {
      aggregateId: id,
      policy: { strategy: 'lww' } as never,
    });
    expect((await a.states.getState('account', id))?.seq).toBe(7);
  });

  // The retirer read the log when it held o6 only; o7 landed on top before the deletes: losing = [o6] is
  // no suffix of the log. A catch-up that checked only the run's newest event (o7) kept o6's deposit.
  it('a catch-up checks every event it folds, not only the newest (a losing set that is no suffix)', async () => {
    const { id, racing, o6 } = await retiringLog('nonsuffix', (o6) => [o6]);
    const row = await catchUpCoreRow({ events: racing, states: a.states }, account, id);
    const log = await a.events.loadStream('account', id);
    expect(log.some((e) => e.eventId === o6.eventId)).toBe(false);
    expect(row.seq).toBe(5);
    expect((await a.states.getState('account', id))?.seq).toBe(5);
  });
});
