import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { materialize, policyFor } from '../../../lib/conflict/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { createBatchApplier, type LaneRecord, POISON_REASONS } from '../../../lib/replication/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology, uniqueId } from './cells.ts';

/**
 * The ordinary lane packs the single runs of several aggregates into shared TransactWriteItems (each run
 * with its own row guard): 100 one-event aggregates cost two transactions, not 100. A packed transaction
 * DynamoDB does not take (a row moved by a local write, a key already taken) writes nothing, and each of
 * its aggregates goes again on its own: the moved one after a re-read, the poison one quarantined alone.
 */
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);
const activity = registry.get('activity');

let origin: Cell;
beforeAll(async () => {
  origin = await makeCell('us-east-1');
});

/** One ordinary event for each of `count` fresh aggregates, written at the origin. */
async function oneEventEach(count: number, prefix: string): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  for (let i = 0; i < count; i++) {
    const result = await origin.execute({
      aggregateType: 'activity',
      aggregateId: uniqueId(`${prefix}-${i}`),
      command: { type: 'AppendEntry', payload: { kind: 'k', message: `m${i}` } },
    });
    events.push(...result.events);
  }
  return events;
}

const message = (event: EventEnvelope, id: string): LaneRecord => ({
  id,
  body: JSON.stringify({ source: 'multiactive.replication', 'detail-type': event.type, detail: event }),
});

/**
 * The target's document client counting TransactWriteItems (and their items); `beforePacked` runs once,
 * just before the first transaction naming more than one aggregate is sent (the window between the batch's
 * read of the rows and its commit), with the aggregate id of that transaction's first item.
 */
function counting(doc: DynamoDBDocumentClient, beforePacked?: (aggregateId: string) => Promise<void>) {
  const send = doc.send.bind(doc) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  const seen = { transactions: 0, items: [] as number[], fired: false };
  const client = new Proxy(doc, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown, ...rest: unknown[]) => {
        if (command instanceof TransactWriteCommand) {
          const items = command.input.TransactItems ?? [];
          seen.transactions++;
          seen.items.push(items.length);
          const ids = new Set(items.map((i) => i.Put?.Item?.aggregateId).filter((id) => id !== undefined));
          if (beforePacked && !seen.fired && ids.size > 1) {
            seen.fired = true;
            await beforePacked(String(items[0]?.Put?.Item?.aggregateId));
          }
        }
        return send(command, ...rest);
      };
    },
  });
  return { client, seen };
}

async function laneInto(target: Cell, beforePacked?: (aggregateId: string) => Promise<void>) {
  const { client, seen } = counting(target.db.doc, beforePacked);
  const apply = createBatchApplier({
    region: target.region,
    topology,
    registry,
    clock: target.clock,
    events: new EventStore({
      client,
      tableName: target.db.tables.events,
      coreMarkerTableName: target.db.tables.replication,
    }),
    states: target.states,
    watermarks: target.watermarks,
    parking: target.parking,
    quarantine: target.quarantine,
    conflicts: target.conflicts,
  });
  return { apply, seen };
}

/** The aggregate's log ids, and whether its row is the materialization of that log (version included). */
async function logAndRow(cell: Cell, id: string) {
  const log = await cell.events.loadStream('activity', id);
  const row = await cell.states.getState('activity', id);
  const expected = materialize({
    aggregate: activity,
    aggregateId: id,
    policy: policyFor(activity, topology),
    events: log,
  }).record;
  return {
    ids: log.map((e) => e.eventId).sort(),
    rowMatchesLog: row?.version === log.length && row?.state === expected.state,
  };
}

describe('ordinary lane: packed transactions', () => {
  it('applies 100 one-event aggregates of a batch with two TransactWriteItems', async () => {
    const events = await oneEventEach(100, 'packed');
    const target = await makeCell('eu-west-1');
    const { apply, seen } = await laneInto(target);
    const report = await apply(events.map((e, i) => message(e, `m${i}`)));
    expect(report.failed).toEqual([]);
    expect(report.outcomes.map((o) => o.outcome.status)).toEqual(Array(100).fill('applied'));
    // 100 aggregates x (event + row) = 200 items: two full transactions (one per aggregate before).
    expect(seen.transactions).toBe(2);
    expect(seen.items).toEqual([100, 100]);
    expect(report.runs).toBe(100);
    for (const e of events)
      expect(await logAndRow(target, e.aggregateId)).toEqual({ ids: [e.eventId], rowMatchesLog: true });
  }, 120_000);

  /**
   * Interleaving: the batch reads every row (BatchGetItem), then a local command appends to one of its
   * aggregates, then the packed transaction holding that aggregate is sent. Its row guard (the row as
   * read: absent) fails, so DynamoDB cancels the whole transaction; each of its aggregates goes again on
   * its own, the moved one read again and its row re-materialized with both events.
   */
  it(
    'a row moved by a local write cancels its packed transaction; every group is still applied once',
    () => movedRow(),
    120_000,
  );

  it('is caught when a packed run goes without its row guard (bug switch lane-packed-unguarded-row)', async () => {
    await expect(withBug('lane-packed-unguarded-row', movedRow)).rejects.toThrow();
  }, 120_000);

  async function movedRow(): Promise<void> {
    const events = await oneEventEach(60, 'moved');
    const target = await makeCell('eu-west-1');
    let moved: { id: string; local: EventEnvelope[] } | undefined;
    const { apply, seen } = await laneInto(target, async (id) => {
      const result = await target.execute({
        aggregateType: 'activity',
        aggregateId: id,
        command: { type: 'AppendEntry', payload: { kind: 'local', message: 'meanwhile' } },
      });
      moved = { id, local: result.events };
    });
    const report = await apply(events.map((e, i) => message(e, `m${i}`)));
    expect(seen.fired).toBe(true);
    expect(report.failed).toEqual([]);
    expect(report.outcomes.map((o) => o.outcome.status)).toEqual(Array(60).fill('applied'));
    for (const e of events) {
      const local = e.aggregateId === moved?.id ? moved.local.map((l) => l.eventId) : [];
      expect(await logAndRow(target, e.aggregateId)).toEqual({
        ids: [e.eventId, ...local].sort(),
        rowMatchesLog: true,
      });
    }
    // The cancelled transaction's aggregates went again on their own (two packed, then one each).
    expect(seen.transactions).toBeGreaterThan(2);
  }

  /**
   * A forged event claiming the key of an event the target already holds (same HLC, another eventId) in a
   * batch with 59 good ones: its Put fails its condition, the packed transaction is cancelled, and on its
   * own the forged event is a key collision, quarantined; the other 59 are applied.
   */
  it('quarantines a poison event of a packed transaction alone and applies the rest', async () => {
    const events = await oneEventEach(60, 'poison');
    const target = await makeCell('eu-west-1');
    const held = events[17]!;
    await target.apply(structuredClone(held));
    const forged: EventEnvelope = { ...held, eventId: ulid() };
    const batch = events.map((e, i) => (i === 17 ? forged : e));
    const { apply, seen } = await laneInto(target);
    const report = await apply(batch.map((e, i) => message(e, `m${i}`)));
    expect(report.failed).toEqual([]);
    const statuses = new Map(report.outcomes.map((o) => [o.id, o.outcome]));
    expect(statuses.get('m17')).toMatchObject({ status: 'quarantined', reason: POISON_REASONS.keyCollision });
    for (const [i] of events.entries())
      if (i !== 17) expect(statuses.get(`m${i}`)?.status, `m${i}`).toBe('applied');
    expect(await target.quarantine.count()).toBe(1);
    // The packed transaction holding the forged event was cancelled: its groups went again on their own.
    expect(seen.items.some((n) => n > 2)).toBe(true);
    expect(seen.transactions).toBeGreaterThan(2);
    for (const e of events)
      expect(await logAndRow(target, e.aggregateId)).toEqual({ ids: [e.eventId], rowMatchesLog: true });
  }, 120_000);
});
