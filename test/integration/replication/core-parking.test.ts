import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { PARKED_INDEX_KEY, POISON_REASONS } from '../../../lib/replication/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { accountCommands, type Cell, eastAndWest, testTopology, uniqueId } from './cells.ts';

let east: Cell;
let west: Cell;
let wallNow = Date.now();
const now = () => new Date(wallNow);
const gapTimeout = testTopology().thresholds.coreGapTimeoutMs;

beforeAll(async () => {
  ({ east, west } = await eastAndWest(now));
});

const uid = uniqueId;
const { open, deposit } = accountCommands;
const heartbeat = () =>
  sampleEnvelope({
    aggregateType: '_heartbeat',
    aggregateId: 'us-east-1',
    type: 'Heartbeat',
    payload: {},
    hlc: encodeHlc({ wall: Date.now(), logical: 0, region: 'us-east-1' }),
  });
const apply = (event: EventEnvelope) => west.apply(structuredClone(event));

async function quarantined(eventId: string) {
  const { Items } = await west.db.doc.send(new ScanCommand({ TableName: west.db.tables.quarantine }));
  return Items?.find((i) => i.eventId === eventId)?.reason;
}

describe('parked core events', () => {
  it('drain without traffic: the applier sweeps them on its idle path (a heartbeat) and fetches the gap', async () => {
    const id = uid('sweep');
    await east.execute(open(id));
    await east.execute(deposit(id, 10));
    const [e3] = (await east.execute(deposit(id, 7))).events;
    expect((await apply(e3!)).status).toBe('parked');
    wallNow += gapTimeout + 1;
    // No other event of the account arrives: only heartbeats.
    await west.apply(heartbeat());
    expect(await west.states.getState('account', id)).toMatchObject({ seq: 3 });
    expect(await west.parking.parked('account', id, 0)).toEqual([]);
    const listed = await west.parking.parkedAggregates();
    expect(listed.map((p) => p.aggregateId)).not.toContain(id);
    expect(listed.every((p) => p.aggregateType !== PARKED_INDEX_KEY)).toBe(true);
  });

  it('validates an event fetched to close a gap like a delivered one (poison is quarantined, not folded)', async () => {
    const id = uid('fetch-poison');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 10))).events;
    const [e3] = (await east.execute(deposit(id, 7))).events;
    // East's store holds a broken seq 2 (what a corrupted or forged origin would serve).
    const broken = { ...e2!, payload: { amount: 'ten' } } as unknown as EventEnvelope;
    await east.db.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).PutCommand({
        TableName: east.db.tables.events,
        Item: { pk: `account#${id}`, sk: 'SEQ#000000000002', ppk: `P#${e2!.partition}`, ...broken },
      }),
    );
    await apply(e1!);
    expect((await apply(e3!)).status).toBe('parked');
    wallNow += gapTimeout + 1;
    expect((await apply(e3!)).status).toBe('parked');
    expect(await quarantined(e2!.eventId)).toBe(POISON_REASONS.invalidPayload);
    expect(await west.states.getState('account', id)).toMatchObject({ seq: 1 });
    // The good seq 2 arrives later by normal delivery: the parked seq 3 drains behind it.
    expect((await apply(e2!)).status).toBe('applied');
    expect(await west.states.getState('account', id)).toMatchObject({ seq: 3 });
  });

  it('does not append a fetched event that does not extend the row (another branch)', async () => {
    const id = uid('fetch-branch');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 10))).events;
    const [e3] = (await east.execute(deposit(id, 7))).events;
    // East's seq 2 now names another head than the seq 1 west holds.
    const other = { ...e2!, prev: encodeHlc({ wall: 1, logical: 0, region: 'us-east-1' }) };
    await east.db.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).PutCommand({
        TableName: east.db.tables.events,
        Item: { pk: `account#${id}`, sk: 'SEQ#000000000002', ppk: `P#${e2!.partition}`, ...other },
      }),
    );
    await apply(e1!);
    await apply(e3!);
    wallNow += gapTimeout + 1;
    expect((await apply(e3!)).status).toBe('parked');
    expect((await west.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1]);
  });

  it("never overwrites a parked event with another branch's event at the same seq", async () => {
    const id = uid('park-slot');
    const [e1] = (await east.execute(open(id))).events;
    await east.execute(deposit(id, 1));
    const [e3] = (await east.execute(deposit(id, 2))).events;
    const rival = { ...e3!, eventId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', prev: e1!.hlc };
    expect((await apply(e3!)).status).toBe('parked');
    expect(await apply(rival)).toMatchObject({
      status: 'quarantined',
      reason: POISON_REASONS.branchConflict,
    });
    expect((await west.parking.parked('account', id, 0)).map((e) => e.eventId)).toEqual([e3!.eventId]);
  });
});
