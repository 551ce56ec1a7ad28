import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { POISON_REASONS } from '../../../lib/replication/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { type Cell, makeCell } from '../replication/cells.ts';

// Replicated events through the real applier: poison is quarantined with its documented reason
// (lib/replication/errors.ts POISON_REASONS), a replay is a no-op, and none of them changes any state.
let east: Cell;
let west: Cell;

beforeAll(async () => {
  const cells: Cell[] = [];
  east = await makeCell('us-east-1', { peers: () => cells });
  west = await makeCell('eu-west-1', { peers: () => cells });
  cells.push(east, west);
});

let n = 0;
const uid = () => `bad-${Date.now().toString(36)}-${++n}`;

/** Opens an account in us-east-1 and replicates it to eu-west-1; returns its events. */
async function openedAccount(): Promise<{ id: string; events: EventEnvelope[] }> {
  const id = uid();
  const opened = await east.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
  });
  const deposit = await east.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'Deposit', payload: { amount: 50 } },
  });
  const all = [...opened.events, ...deposit.events];
  for (const event of all) expect((await west.apply(structuredClone(event))).status).toBe('applied');
  return { id, events: all };
}

async function footprint(cell: Cell, id: string) {
  const row = await cell.states.getState('account', id);
  return {
    log: (await cell.events.loadStream('account', id)).map((e) => e.eventId),
    version: row?.version,
    state: row?.state,
  };
}

async function expectQuarantined(event: unknown, reason: string) {
  const before = await west.quarantine.count();
  const outcome = await west.apply(event);
  expect(outcome).toMatchObject({ status: 'quarantined', reason });
  expect(await west.quarantine.count()).toBe(before + 1);
}

describe('bad replicated events', () => {
  it('quarantines an event stamped beyond the max drift (ClockDrift) and keeps the clock sane', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const future = {
      ...events[1]!,
      eventId: ulid(),
      seq: 3,
      hlc: encodeHlc({ wall: Date.now() + 3_600_000, logical: 0, region: 'us-east-1' }),
    };
    await expectQuarantined(future, POISON_REASONS.clockDrift);
    expect(await footprint(west, id)).toEqual(before);
    expect(west.clock.now().wall).toBeLessThan(Date.now() + 60_000);
  });

  it('treats a replayed old event as a duplicate: nothing changes, nothing is quarantined', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const q = await west.quarantine.count();
    expect((await west.apply(structuredClone(events[0]!))).status).toBe('duplicate');
    expect((await west.apply(structuredClone(events[1]!))).status).toBe('duplicate');
    expect(await footprint(west, id)).toEqual(before);
    expect(await west.quarantine.count()).toBe(q);
  });

  it('quarantines a forged origin: an event claiming to come from the receiver, or an HLC of another region', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const next = { ...events[1]!, eventId: ulid(), seq: 3 };
    await expectQuarantined({ ...next, origin: 'eu-west-1' }, POISON_REASONS.forgedOrigin);
    await expectQuarantined(
      { ...next, eventId: ulid(), origin: 'ap-southeast-1' },
      POISON_REASONS.forgedOrigin,
    );
    expect(await footprint(west, id)).toEqual(before);
  });

  it('quarantines a different event at an occupied seq from a stale epoch (FencingViolation)', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const stale = sampleEnvelope({
      aggregateId: id,
      partition: events[1]!.partition,
      seq: 2,
      epoch: Math.max(0, events[1]!.epoch - 1),
      origin: 'us-east-1',
      payload: { amount: 999 },
    });
    await expectQuarantined(stale, POISON_REASONS.fencingViolation);
    expect(await footprint(west, id)).toEqual(before);
  });

  it('quarantines malformed, unknown-type, wrong-schema and oversize events without touching the log', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const next = { ...events[1]!, seq: 3 };
    await expectQuarantined({ ...next, eventId: ulid(), seq: 'three' }, POISON_REASONS.invalidEnvelope);
    await expectQuarantined(
      { ...next, eventId: ulid(), aggregateType: 'wallet' },
      POISON_REASONS.unknownAggregateType,
    );
    await expectQuarantined({ ...next, eventId: ulid(), type: 'Stolen' }, POISON_REASONS.unknownEventType);
    await expectQuarantined(
      { ...next, eventId: ulid(), schemaVersion: 9 },
      POISON_REASONS.unsupportedSchemaVersion,
    );
    await expectQuarantined(
      { ...next, eventId: ulid(), payload: { amount: 'lots' } },
      POISON_REASONS.invalidPayload,
    );
    await expectQuarantined(
      { ...next, eventId: ulid(), correlationId: 'x'.repeat(300_000) },
      POISON_REASONS.eventTooLarge,
    );
    expect(await footprint(west, id)).toEqual(before);
  });

  it("applies a home's epoch no-op (the platform's core event): the row's version moves, its state does not", async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const noOp = {
      ...events[1]!,
      eventId: ulid(),
      seq: 3,
      type: 'EpochNoOp',
      schemaVersion: 1,
      payload: { epoch: 0 },
      prev: events[1]!.hlc,
      hlc: encodeHlc({ wall: Date.now(), logical: 0, region: 'us-east-1' }),
    };
    expect((await west.apply(noOp)).status).toBe('applied');
    const after = await footprint(west, id);
    expect([after.version, after.state, after.log.at(-1)]).toEqual([
      (before.version ?? 0) + 1,
      before.state,
      noOp.eventId,
    ]);
  });

  it('quarantines an epoch no-op with a bad payload without touching the log', async () => {
    const { id, events } = await openedAccount();
    const before = await footprint(west, id);
    const next = { ...events[1]!, seq: 3, type: 'EpochNoOp', schemaVersion: 1, prev: events[1]!.hlc };
    await expectQuarantined(
      { ...next, eventId: ulid(), payload: { epoch: 'late' } },
      POISON_REASONS.invalidPayload,
    );
    expect(await footprint(west, id)).toEqual(before);
  });
});
