import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { signedDetail, staticInternalKey } from '../../../lib/auth/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { POISON_REASONS, toBusEntry } from '../../../lib/replication/index.ts';
import { type Cell, makeCell } from '../replication/cells.ts';

// A replication event that did not come from a region's publisher (or a runbook's replay) carries no
// valid signature: an applier holding the environment's internal key quarantines it, whoever put it on
// the bus, and applies what the publisher signed.
const key = randomBytes(32);
let east: Cell;
let west: Cell;

beforeAll(async () => {
  const cells: Cell[] = [];
  east = await makeCell('us-east-1', { peers: () => cells });
  west = await makeCell('eu-west-1', { peers: () => cells, eventKey: staticInternalKey(key) });
  cells.push(east, west);
});

/** The detail the bus delivers for a PutEvents entry (EventBridge parses Detail as JSON). */
const delivered = (envelope: EventEnvelope, signingKey?: Uint8Array) =>
  JSON.parse(toBusEntry(envelope, 'multiactive-test-bus', signingKey).Detail as string) as Record<
    string,
    unknown
  >;

async function opened(id: string): Promise<EventEnvelope[]> {
  const open = await east.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
  });
  const deposit = await east.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'Deposit', payload: { amount: 50 } },
  });
  return [...open.events, ...deposit.events];
}

describe('replication events not signed with the internal key', () => {
  it('are quarantined as Unauthenticated and change nothing; signed ones are applied', async () => {
    const id = `unsigned-${Date.now().toString(36)}`;
    const [open, deposit] = (await opened(id)) as [EventEnvelope, EventEnvelope];
    expect(await west.apply(delivered(open, key))).toMatchObject({ status: 'applied' });
    const before = await west.states.getState('account', id);
    const altered = { ...delivered(deposit, key), payload: { amount: 5_000 } };
    const forged: Array<[string, unknown]> = [
      ['no signature (put on the bus by anyone)', delivered(deposit)],
      ['signed with another key', delivered(deposit, randomBytes(32))],
      ['altered after signing', altered],
      ['a signature field that is not a string', { ...delivered(deposit), signature: 42 }],
    ];
    for (const [what, detail] of forged) {
      const quarantined = await west.quarantine.count();
      expect([what, await west.apply(detail)]).toMatchObject([
        what,
        { status: 'quarantined', reason: POISON_REASONS.unauthenticated },
      ]);
      expect(await west.quarantine.count()).toBe(quarantined + 1);
    }
    expect(await west.states.getState('account', id)).toEqual(before);
    expect(await west.apply(delivered(deposit, key))).toMatchObject({ status: 'applied' });
    expect(JSON.parse((await west.states.getState('account', id))!.state)).toMatchObject({ balance: 50 });
  });

  it('a signed detail is the envelope plus its signature, and stays valid through JSON', () => {
    const envelope = { eventId: '01J00000000000000000000000', aggregateId: 'a', payload: { b: [1, 'x'] } };
    const detail = signedDetail(envelope, key);
    expect(Object.keys(detail).sort()).toEqual([...Object.keys(envelope), 'signature'].sort());
    expect(JSON.parse(JSON.stringify(detail))).toEqual(detail);
  });
});
