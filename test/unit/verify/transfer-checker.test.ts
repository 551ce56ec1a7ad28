import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { byKey, checkTransfers, type StoredEvent } from '../../../lib/verify/index.ts';
import { op, snapshot } from './ops.ts';

const T = 'tr-1';
const hlc = (wall: number) => encodeHlc({ wall, logical: 0, region: 'us-east-1' });

function event(
  aggregateType: string,
  aggregateId: string,
  seq: number,
  type: string,
  payload: object,
  wall = 1_000,
  causationId = aggregateType === 'transfer' ? aggregateId : T,
): StoredEvent {
  return {
    eventId: `${aggregateId}-${seq}-${type}`,
    aggregateType,
    aggregateId,
    partition: 1,
    seq,
    epoch: 1,
    origin: 'us-east-1',
    hlc: hlc(wall),
    prev: seq > 1 ? `${aggregateId}-${seq - 1}` : null,
    type,
    payload: payload as Record<string, unknown>,
    core: true,
    causationId,
  };
}

const opened = (id: string) =>
  event('account', id, 1, 'AccountOpened', { owner: id, currency: 'EUR' }, 1_000, `open-${id}`);
const funded = (id: string) => event('account', id, 2, 'Deposited', { amount: 100 }, 1_000, `fund-${id}`);
/** Begun by the client request `k1` (its idempotency key is the SagaBegun's causationId). */
const begun = event('transfer', T, 1, 'SagaBegun', { at: 1 }, 1_000, 'k1');
const held = (wall = 1_000) =>
  event('account', 'src', 3, 'HoldPlaced', { transferId: T, amount: 30, expiresAt: 6_000, at: wall }, wall);
const settled = (wall = 1_100) =>
  event('account', 'src', 4, 'HoldSettled', { transferId: T, amount: 30, at: wall }, wall);
const credited = (seq: number) =>
  event('account', 'dst', seq, 'TransferCredited', { transferId: T, amount: 30, from: 'src', at: 1 });
const decided = event('transfer', T, 2, 'SagaConfirming', { at: 1 });

function rows(status: string, src: object, dst: object) {
  return {
    [`transfer#${T}`]: { status, reason: null, input: { from: 'src', to: 'dst', amount: 30 } },
    'account#src': src,
    'account#dst': dst,
  };
}

const request = (result: { output?: string } = {}) =>
  op('transfer', 30, [0, 1], { key: 'transfer/k1', opId: 'k1', eventIds: [T], ...result });

const check = (events: StoredEvent[], status: string, src: object, dst: object, ops = byKey([request()])) =>
  checkTransfers({
    operations: ops,
    regions: [snapshot('us-east-1', events, rows(status, src, dst))],
    accounts: ['src', 'dst'],
    setupOpIds: ['open-src', 'fund-src', 'open-dst', 'fund-dst'],
    holdBoundMs: 2_000,
  });

const base = [opened('src'), funded('src'), opened('dst'), funded('dst'), begun, decided];

describe('checkTransfers', () => {
  it('passes a transfer confirmed once: one debit, one credit, money conserved, no hold left', () => {
    const result = check(
      [...base, held(), settled(), credited(3)],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 130 },
    );
    expect(result.anomalies).toEqual([]);
    expect(result).toMatchObject({ transfers: 1, confirmed: 1, inDoubt: 0, conservationAnomalies: 0 });
  });

  it('reports a credit made twice, and the money it created', () => {
    const result = check(
      [...base, held(), settled(), credited(3), credited(4)],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 160 },
    );
    expect(result.anomalies.map((a) => a.kind)).toEqual(
      expect.arrayContaining(['double-credit', 'money-not-conserved']),
    );
    expect(result.conservationAnomalies).toBe(1);
  });

  it('reports a hold never closed, a transfer not ended, and a hold closed past its bound', () => {
    const stuck = check([...base, held()], 'confirming', { balance: 100, held: 30 }, { balance: 100 });
    expect(stuck.anomalies.map((a) => a.kind)).toEqual(expect.arrayContaining(['stuck-hold', 'in-doubt']));
    expect(stuck.inDoubt).toBe(1);
    const late = check(
      [...base, held(), settled(9_000), credited(3)],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 130 },
    );
    expect(late.anomalies.map((a) => [a.kind, a.related])).toEqual([
      ['hold-outlived-bound', ['transfer/tr-1']],
    ]);
    expect(late.maxHoldOvershootMs).toBe(3_000);
    // The bound does not run while faults keep the home from writing: 1.5 s of outage leaves 1.5 s.
    const excused = checkTransfers({
      operations: byKey([request()]),
      regions: [
        snapshot(
          'us-east-1',
          [...base, held(), settled(9_000), credited(3)],
          rows('confirmed', { balance: 70, held: 0 }, { balance: 130 }),
        ),
      ],
      accounts: ['src', 'dst'],
      setupOpIds: ['open-src', 'fund-src', 'open-dst', 'fund-dst'],
      holdBoundMs: 2_000,
      outageMs: (from, to, homes) =>
        from === 6_000 && to === 9_000 && homes.includes('us-east-1') ? 1_500 : 0,
    });
    expect(excused.anomalies).toEqual([]);
    expect(excused).toMatchObject({
      maxHoldOvershootMs: 3_000,
      maxHoldOvershootBeyondOutagesMs: 1_500,
      latestHold: { account: 'src', transferId: T, ms: 3_000, outageMs: 1_500, homes: ['us-east-1'] },
    });
  });

  it("counts the outages of every region that wrote the account's events while the hold was open", () => {
    const asked: string[][] = [];
    const moved = { ...event('account', 'src', 4, 'Deposited', { amount: 1 }, 5_000), origin: 'eu-west-1' };
    const closed = { ...settled(9_000), seq: 5, origin: 'ap-southeast-1' };
    checkTransfers({
      operations: byKey([request()]),
      regions: [
        snapshot(
          'us-east-1',
          [...base, held(), moved, closed, credited(3)],
          rows('confirmed', { balance: 71, held: 0 }, { balance: 130 }),
        ),
      ],
      accounts: ['src', 'dst'],
      setupOpIds: ['open-src', 'fund-src', 'open-dst', 'fund-dst'],
      holdBoundMs: 2_000,
      outageMs: (_from, _to, homes) => {
        asked.push([...homes]);
        return 0;
      },
    });
    expect(asked).toEqual([['us-east-1', 'eu-west-1', 'ap-southeast-1']]);
  });

  it('under ack local, leaves a transfer a region loss cut through to the manual queue, and only then', () => {
    // The credit was written by eu-west-1, which a Failover took over; it lost the fork and is queued.
    const lostCredit = { ...credited(3), origin: 'eu-west-1' };
    const record = {
      aggregateType: 'account',
      aggregateId: 'dst',
      eventIds: [lostCredit.eventId],
      status: 'open',
      kind: 'core-orphan',
      events: [lostCredit],
    };
    const region = (name: string, events: StoredEvent[], queue = [record], dst = 100) =>
      snapshot(name, events, rows('confirmed', { balance: 70, held: 0 }, { balance: dst }), queue);
    const run = (
      policy: { ackMode?: 'local' | 'quorum'; lostRegions?: string[] },
      regions = [region('us-east-1', [...base, held(), settled()])],
    ) =>
      checkTransfers({
        operations: byKey([request({ output: 'confirmed' })]),
        regions,
        accounts: ['src', 'dst'],
        setupOpIds: ['open-src', 'fund-src', 'open-dst', 'fund-dst'],
        holdBoundMs: 2_000,
        ...policy,
      });
    const local = { ackMode: 'local' as const, lostRegions: ['eu-west-1'] };
    const excused = run(local);
    expect([excused.anomalies, excused.hitByRegionLoss, excused.conservationAnomalies]).toEqual([[], 1, 0]);
    // The next home redid the credit: one in the log, the lost one queued. Still left to the queue.
    const redone = run(local, [
      region('us-east-1', [...base, held(), settled(), credited(5)], [record], 130),
    ]);
    expect(redone.anomalies).toEqual([]);
    // A region whose queue lacks the lost credit: it was dropped there.
    const dropped = run(local, [
      region('us-east-1', [...base, held(), settled()]),
      region('eu-west-1', [...base, held(), settled()], []),
    ]);
    expect(dropped.anomalies.map((a) => [a.kind, a.region])).toEqual([['orphan-not-queued', 'eu-west-1']]);
    // Under quorum, or without a Failover of the region that wrote it, nothing is excused.
    for (const policy of [{ ...local, ackMode: 'quorum' as const }, { ackMode: 'local' as const }]) {
      const strict = run(policy);
      expect(strict.anomalies.map((a) => [a.kind, a.related])).toEqual([
        ['not-exactly-once', ['account/src', 'account/dst']],
        ['money-not-conserved', undefined],
      ]);
    }
  });

  it('reports a cancelled transfer that moved money, and a client told confirmed for a cancelled one', () => {
    const ops = byKey([request({ output: 'confirmed' })]);
    const result = check([...base, credited(3)], 'cancelled', { balance: 100 }, { balance: 130 }, ops);
    expect(result.anomalies.map((a) => a.kind)).toEqual(
      expect.arrayContaining(['cancelled-but-moved', 'money-not-conserved', 'outcome-changed']),
    );
  });

  it('reports an available balance driven negative by a hold', () => {
    const overdrawn = event('account', 'src', 3, 'HoldPlaced', {
      transferId: T,
      amount: 130,
      expiresAt: 6_000,
      at: 1,
    });
    const result = check([...base, overdrawn], 'cancelling', { balance: 100, held: 130 }, { balance: 100 });
    expect(result.anomalies.map((a) => a.kind)).toContain('negative-available');
  });

  it('traces every event to its cause by op id: a step of no transfer, or a transfer no client began, is a phantom', () => {
    const clean = check(
      [...base, held(), settled(), credited(3)],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 130 },
    );
    expect(clean.phantomWrites).toBe(0);
    const stray = event(
      'account',
      'dst',
      3,
      'TransferCredited',
      { transferId: 'tr-other', amount: 30 },
      1,
      'tr-other',
    );
    const unbegun = check(
      [...base.filter((e) => e !== begun), held(), settled(), credited(3), stray],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 160 },
    );
    expect(unbegun.anomalies.filter((a) => a.kind === 'phantom-write').map((a) => a.key)).toEqual([
      'transfer/tr-1',
      'account/src',
      'account/src',
      'account/dst',
      'account/dst',
    ]);
    const deposit = event('account', 'src', 3, 'Deposited', { amount: 5 }, 1, 'someone-else');
    const outside = check([...base, deposit], 'confirmed', { balance: 105 }, { balance: 100 });
    expect(outside.anomalies.map((a) => a.kind)).toContain('phantom-write');
  });

  it("accounts a home's epoch no-op to the transfer whose step wrote it, and to nothing else", () => {
    const noOp = (cause: string) => event('account', 'dst', 4, 'EpochNoOp', { epoch: 3 }, 1, cause);
    const steps = [...base, held(), settled(), credited(3)];
    const ours = check([...steps, noOp(T)], 'confirmed', { balance: 70, held: 0 }, { balance: 130 });
    expect(ours.anomalies).toEqual([]);
    const stray = check(
      [...steps, noOp('tr-other')],
      'confirmed',
      { balance: 70, held: 0 },
      { balance: 130 },
    );
    expect(stray.anomalies.map((a) => [a.kind, a.key])).toEqual([['phantom-write', 'account/dst']]);
    // On the transfer itself: under its own step, or under the client's request repeated (a begin).
    const onTransfer = (seq: number, cause: string) =>
      event('transfer', T, seq, 'EpochNoOp', { epoch: 3 }, 1, cause);
    const src = { balance: 70, held: 0 };
    const repeated = check([...steps, onTransfer(3, T), onTransfer(4, 'k1')], 'confirmed', src, {
      balance: 130,
    });
    expect(repeated.anomalies).toEqual([]);
    const foreign = check([...steps, onTransfer(3, 'k2')], 'confirmed', src, { balance: 130 });
    expect(foreign.anomalies.map((a) => [a.kind, a.key])).toEqual([['phantom-write', 'transfer/tr-1']]);
  });
});
