import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { AggregateFrozenError } from '../../../lib/commands/index.ts';
import { resolveConflict } from '../../../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { POISON_REASONS, replicationStatus } from '../../../lib/replication/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { accountCommands, type Cell, eastAndWest, testAggregates, testTopology, uniqueId } from './cells.ts';

let east: Cell;
let west: Cell;
let wallNow = Date.now();
const now = () => new Date(wallNow);

beforeAll(async () => {
  ({ east, west } = await eastAndWest(now));
});

const uid = uniqueId;

async function deliver(to: Cell, events: readonly EventEnvelope[]) {
  const outcomes = [];
  for (const event of events) outcomes.push(await to.apply(structuredClone(event)));
  return outcomes;
}

async function row(cell: Cell, type: string, id: string) {
  const record = await cell.states.getState(type, id);
  if (!record) return undefined;
  const { updatedAt: _u, ...rest } = record;
  return { ...rest, state: JSON.parse(rest.state) };
}

describe('important tier', () => {
  it('lww: concurrent writes converge on the higher HLC in both regions', async () => {
    const id = uid('lww');
    const a = await east.execute({
      aggregateType: 'profile',
      aggregateId: id,
      command: { type: 'SetDisplayName', payload: { displayName: 'east' } },
    });
    const b = await west.execute({
      aggregateType: 'profile',
      aggregateId: id,
      command: { type: 'SetDisplayName', payload: { displayName: 'west' } },
    });
    await deliver(west, a.events);
    await deliver(east, b.events);
    const winner = a.events[0]!.hlc > b.events[0]!.hlc ? 'east' : 'west';
    expect((await row(east, 'profile', id))?.state.displayName).toBe(winner);
    expect(await row(east, 'profile', id)).toEqual(await row(west, 'profile', id));
    expect((await row(east, 'profile', id))?.version).toBe(2);
  });

  it('rule: concurrent preference sets merge as a set union everywhere', async () => {
    const id = uid('rule');
    const set = (cell: Cell, preferences: string[]) =>
      cell.execute({
        aggregateType: 'profile-rule',
        aggregateId: id,
        command: { type: 'SetPreferences', payload: { preferences } },
      });
    const a = await set(east, ['dark', 'email']);
    const b = await set(west, ['sms']);
    await deliver(west, a.events);
    await deliver(east, b.events);
    expect((await row(east, 'profile-rule', id))?.state.preferences).toEqual(['dark', 'email', 'sms']);
    expect(await row(east, 'profile-rule', id)).toEqual(await row(west, 'profile-rule', id));
    // A later write that has seen both replaces the set (no concurrency any more).
    const c = await set(east, ['none']);
    await deliver(west, c.events);
    expect((await row(west, 'profile-rule', id))?.state.preferences).toEqual(['none']);
  });

  it('manual: freezes on a conflict, records it once, refuses writes, and a resolution unfreezes everywhere', async () => {
    const id = uid('manual');
    const name = (cell: Cell, displayName: string) =>
      cell.execute({
        aggregateType: 'profile-manual',
        aggregateId: id,
        command: { type: 'SetDisplayName', payload: { displayName } },
      });
    const base = await name(east, 'base');
    await deliver(west, base.events);
    const a = await name(east, 'east');
    const b = await name(west, 'west');
    await deliver(west, [...a.events, ...a.events]);
    await deliver(east, b.events);
    for (const cell of [east, west]) {
      const r = await row(cell, 'profile-manual', id);
      expect(r?.frozen).toBe(true);
      expect(r?.state.displayName).toBe('base');
      expect(r?.version).toBe(3);
      const records = await cell.conflicts.listForAggregate('profile-manual', id);
      expect(records).toHaveLength(1);
      expect(records[0]?.status).toBe('open');
      expect(cell.detected.filter((d) => d.aggregateId === id)).toHaveLength(1);
    }
    await expect(name(west, 'blocked')).rejects.toBeInstanceOf(AggregateFrozenError);
    const topology = testTopology();
    const resolution = await resolveConflict(
      {
        registry: createRegistry(testAggregates, topology),
        topology,
        events: east.events,
        states: east.states,
        records: east.conflicts,
        clock: east.clock,
        region: 'us-east-1',
        partitions: topology.partitions,
      },
      {
        aggregateType: 'profile-manual',
        aggregateId: id,
        state: { displayName: 'agreed', email: null, preferences: [] },
      },
    );
    expect(resolution.payload.resolves).toEqual([a.events[0]!.eventId, b.events[0]!.eventId].sort());
    await deliver(west, [resolution]);
    for (const cell of [east, west]) {
      const r = await row(cell, 'profile-manual', id);
      expect(r?.frozen).toBe(false);
      expect(r?.state.displayName).toBe('agreed');
      const records = await cell.conflicts.listForAggregate('profile-manual', id);
      expect(records.map((x) => [x.status, x.resolvedBy])).toEqual([['resolved', resolution.eventId]]);
    }
    expect(await row(east, 'profile-manual', id)).toEqual(await row(west, 'profile-manual', id));
    const after = await name(west, 'after');
    expect(after.state).toMatchObject({ displayName: 'after' });
  });

  it('applies an event that arrives before its causal predecessor and converges once both are in', async () => {
    const id = uid('order');
    const first = await east.execute({
      aggregateType: 'profile',
      aggregateId: id,
      command: { type: 'SetEmail', payload: { email: 'a@example.com' } },
    });
    const second = await east.execute({
      aggregateType: 'profile',
      aggregateId: id,
      command: { type: 'SetDisplayName', payload: { displayName: 'n' } },
    });
    await deliver(west, [...second.events, ...first.events, ...second.events]);
    expect(await row(west, 'profile', id)).toEqual(await row(east, 'profile', id));
  });
});

describe('core tier', () => {
  const { open, deposit } = accountCommands;

  it('parks an event that arrives after a gap and drains it when the gap closes', async () => {
    const id = uid('park');
    const e1 = (await east.execute(open(id))).events;
    const e2 = (await east.execute(deposit(id, 10))).events;
    const e3 = (await east.execute(deposit(id, 5))).events;
    const [o3] = await deliver(west, e3);
    expect(o3?.status).toBe('parked');
    const [o2] = await deliver(west, e2);
    expect(o2?.status).toBe('parked');
    const [o1] = await deliver(west, e1);
    expect(o1?.status).toBe('applied');
    expect((await row(west, 'account', id))?.state.balance).toBe(15);
    expect((await row(west, 'account', id))?.seq).toBe(3);
    expect(await west.parking.parked('account', id, 0)).toEqual([]);
    const [dup] = await deliver(west, e2);
    expect(dup?.status).toBe('duplicate');
  });

  it('folds quorum-ack copies already in the log only once the gap before them closes', async () => {
    // A later home's quorum ack wrote seq 2 and 3 straight into west's table; seq 1 (by an earlier home)
    // has not reached west yet.
    const id = uid('quorum-copy');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 10))).events;
    const [e3] = (await east.execute(deposit(id, 5))).events;
    const [e4] = (await east.execute(deposit(id, 1))).events;
    await west.events.appendEvents([structuredClone(e2!), structuredClone(e3!)], { tier: 'core' });

    expect((await deliver(west, [e4!]))[0]?.status).toBe('parked');
    expect((await row(west, 'account', id))?.seq ?? 0).toBe(0); // not folded across the gap

    expect((await deliver(west, [e1!]))[0]?.status).toBe('applied');
    const caughtUp = await row(west, 'account', id);
    expect(caughtUp).toMatchObject({ seq: 4, version: 4 });
    expect(caughtUp?.state).toMatchObject({ opened: true, owner: 'o', balance: 16 });
    expect(await west.parking.parked('account', id, 0)).toEqual([]);
  });

  it('folds a quorum-ack copy that follows the applied event in the log (no later delivery needed)', async () => {
    const id = uid('quorum-next');
    const [e1] = (await east.execute(open(id))).events;
    const [e2] = (await east.execute(deposit(id, 4))).events;
    await west.events.appendEvents([structuredClone(e2!)], { tier: 'core' });
    expect((await deliver(west, [e1!]))[0]?.status).toBe('applied');
    expect(await row(west, 'account', id)).toMatchObject({ seq: 2, state: { opened: true, balance: 4 } });
  });

  it('clears a parked entry the log already holds (a duplicate parked while a copy was appended)', async () => {
    const id = uid('stale-park');
    const e1 = (await east.execute(open(id))).events;
    const e2 = (await east.execute(deposit(id, 2))).events;
    await east.execute(deposit(id, 3));
    const e4 = (await east.execute(deposit(id, 4))).events;
    await deliver(west, [...e1, ...e2]);
    // What the race leaves: e2 parked by one applier after another had appended it.
    await west.parking.park(structuredClone(e2[0]!), now());
    const forged = { ...structuredClone(e1[0]!), eventId: `${e1[0]!.eventId}X` };
    await west.parking.park(forged, now());
    expect((await deliver(west, e4))[0]?.status).toBe('parked');
    const parked = await west.parking.parked('account', id, 0);
    expect(parked.map((e) => e.seq)).toEqual([4]);
    const { Items } = await west.db.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).ScanCommand({ TableName: west.db.tables.quarantine }),
    );
    expect(Items?.find((i) => i.eventId === forged.eventId)?.reason).toBe(POISON_REASONS.fencingViolation);
  });

  it('fetches the missing range from the origin once the gap is older than the timeout', async () => {
    const id = uid('fetch');
    await east.execute(open(id));
    await east.execute(deposit(id, 10));
    const e3 = (await east.execute(deposit(id, 7))).events;
    wallNow = Date.now();
    expect((await deliver(west, e3))[0]?.status).toBe('parked');
    wallNow += testTopology().thresholds.coreGapTimeoutMs + 1;
    // Redelivery (or any later event of the aggregate) finds the gap old and reads the origin's store.
    expect((await deliver(west, e3))[0]?.status).toBe('applied');
    expect((await row(west, 'account', id))?.state.balance).toBe(17);
    expect((await west.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('quarantines a different event at an already applied sequence (fencing violation)', async () => {
    const id = uid('fence');
    const e1 = (await east.execute(open(id))).events;
    await deliver(west, e1);
    const forged = sampleEnvelope({
      aggregateId: id,
      seq: 1,
      origin: 'us-east-1',
      type: 'Deposited',
      payload: { amount: 1 },
    });
    const [outcome] = await deliver(west, [forged]);
    expect(outcome).toMatchObject({ status: 'quarantined', reason: POISON_REASONS.fencingViolation });
    expect((await west.events.loadStream('account', id)).map((e) => e.eventId)).toEqual([e1[0]!.eventId]);
  });
});

describe('poison', () => {
  const valid = () =>
    sampleEnvelope({
      aggregateType: 'profile',
      aggregateId: uid('poison'),
      type: 'EmailSet',
      payload: { email: 'x@example.com' },
      vv: { 'us-east-1': 1 },
      hlc: encodeHlc({ wall: Date.now(), logical: 0, region: 'us-east-1' }),
    });
  const cases: Array<[string, () => unknown]> = [
    [POISON_REASONS.invalidEnvelope, () => ({ ...valid(), eventId: 'not-a-ulid' })],
    [POISON_REASONS.unknownAggregateType, () => ({ ...valid(), aggregateType: 'spaceship' })],
    [POISON_REASONS.unknownEventType, () => ({ ...valid(), type: 'Teleported' })],
    [POISON_REASONS.unsupportedSchemaVersion, () => ({ ...valid(), schemaVersion: 9 })],
    [POISON_REASONS.invalidPayload, () => ({ ...valid(), payload: { email: 42 } })],
    [
      POISON_REASONS.clockDrift,
      () => ({
        ...valid(),
        hlc: encodeHlc({ wall: Date.now() + 3_600_000, logical: 0, region: 'us-east-1' }),
      }),
    ],
    [
      POISON_REASONS.forgedOrigin,
      () => ({
        ...valid(),
        origin: 'eu-west-1',
        hlc: encodeHlc({ wall: Date.now(), logical: 0, region: 'eu-west-1' }),
      }),
    ],
  ];

  it.each(cases)('quarantines %s with its reason, once, and counts it', async (reason, make) => {
    const before = await west.quarantine.count();
    const raw = make();
    const envelopeLike = { version: '0', id: 'x', detail: raw };
    expect(await west.apply(raw, envelopeLike)).toMatchObject({ status: 'quarantined', reason });
    expect(await west.apply(raw, envelopeLike)).toMatchObject({ status: 'quarantined', reason });
    expect(await west.quarantine.count()).toBe(before + 1);
  });

  it('keeps the raw event in the quarantine table', async () => {
    const raw = { ...valid(), type: 'Nope' };
    await west.apply(raw);
    const { Items } = await west.db.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).ScanCommand({ TableName: west.db.tables.quarantine }),
    );
    const stored = Items?.find((i) => i.eventId === raw.eventId);
    expect(stored?.reason).toBe(POISON_REASONS.unknownEventType);
    expect(JSON.parse(String(stored?.raw))).toEqual(raw);
    expect(stored?.pk).toMatch(/^Q#\d{4}-\d{2}-\d{2}$/);
  });
});

describe('watermarks and lag', () => {
  it('moves the watermark forward only and reports lag from it', async () => {
    const base = Date.now() - 5_000;
    const hb = (wall: number) =>
      sampleEnvelope({
        aggregateType: '_heartbeat',
        aggregateId: 'ap-southeast-1',
        type: 'Heartbeat',
        payload: {},
        origin: 'ap-southeast-1',
        hlc: encodeHlc({ wall, logical: 0, region: 'ap-southeast-1' }),
      });
    expect(await west.apply(hb(base + 1_000))).toEqual({ status: 'heartbeat', advanced: true });
    expect(await west.apply(hb(base))).toEqual({ status: 'heartbeat', advanced: false });
    const watermark = await west.watermarks.watermarkFor('ap-southeast-1');
    expect(watermark?.wall).toBe(base + 1_000);
    const status = await replicationStatus({
      region: 'eu-west-1',
      peers: ['us-east-1', 'ap-southeast-1'],
      watermarks: west.watermarks,
      quarantine: west.quarantine,
      conflicts: west.conflicts,
      now: () => new Date(base + 4_000),
    });
    expect(status.origins.find((o) => o.origin === 'ap-southeast-1')?.lagMs).toBe(3_000);
    expect(status.quarantined).toBeGreaterThan(0);
  });
});
