import { describe, expect, it } from 'vitest';
import { byKey, checkReadYourWrites } from '../../../lib/verify/index.ts';
import { accountEvent, op, snapshot } from './ops.ts';

const reg = [{ aggregateType: 'profile', eventType: 'DisplayNameSet', field: 'displayName' }];
const log = () => [
  accountEvent(1, 'AccountOpened', 0),
  accountEvent(2, 'Deposited', 10),
  accountEvent(3, 'Deposited', 4),
];
// The client's write: o3, Deposit 4, event e3 at seq 3 (token T3).
const write = () =>
  op('deposit', 4, [0, 1], {
    output: 14,
    opId: 'o3',
    written: [{ eventId: 'e3', seq: 3, hlc: 'h3' }],
    token: 'T3',
  });
const read = (
  answer: { version: number; head: string; output: number | null },
  window: [number, number] = [2, 3],
) => op('read', null, window, { ...answer, token: 'T3', after: 'o3' });
const check = (ops: ReturnType<typeof op>[], events = log()) =>
  checkReadYourWrites({ operations: byKey(ops), regions: [snapshot('a', events)], registers: reg });

describe('checkReadYourWrites', () => {
  it("passes a read whose state includes the client's write (and a later one)", () => {
    const result = check([write(), read({ version: 3, head: 'h3', output: 14 })]);
    expect(result.anomalies).toEqual([]);
    expect(result).toMatchObject({ reads: 1, checked: 1 });
  });

  it('accepts a clear 503 (or a timeout) for a read the region cannot honour', () => {
    const result = check([write(), read({ version: 0, head: '', output: null }, [2, Infinity])]);
    expect(result.anomalies).toEqual([]);
    expect(result.unavailable).toBe(1);
  });

  it('reports a read answered from a state before the write', () => {
    const result = check([write(), read({ version: 2, head: 'h2', output: 10 })]);
    expect(result.anomalies.map((a) => a.kind)).toEqual(['ryw-violation']);
  });

  it('reports a new home that answers from its own branch, which lacks the write (same seq, other event)', () => {
    const branch = [...log().slice(0, 2), accountEvent(3, 'Deposited', 9, { eventId: 'y3', hlc: 'hy3' })];
    const result = check([write(), read({ version: 3, head: 'hy3', output: 19 })], branch);
    expect(result.anomalies.map((a) => a.kind)).toEqual(['ryw-violation']);
  });

  it("reports a balance that is not the log's fold at that version, and a state no log holds", () => {
    expect(
      check([write(), read({ version: 3, head: 'h3', output: 15 })]).anomalies.map((a) => a.kind),
    ).toEqual(['read-mismatch']);
    expect(
      check([write(), read({ version: 3, head: 'h?', output: 14 })]).anomalies.map((a) => a.kind),
    ).toEqual(['read-unexplained']);
  });

  it('reports a read with a valid token refused with a 4xx (the region claims not to hold the write)', () => {
    const refused = op('read', null, [2, 3], { error: 'NotFound', token: 'T3', after: 'o3' });
    expect(check([write(), refused]).anomalies.map((a) => a.kind)).toEqual(['ryw-refused']);
  });

  it('for an lww register: the own value or a later write, never an earlier one', () => {
    const profile = (id: string, hlc: string, name: string) => ({
      ...accountEvent(1, 'DisplayNameSet', 0),
      aggregateType: 'profile',
      aggregateId: 'p1',
      eventId: id,
      hlc,
      causationId: id,
      core: false,
      payload: { displayName: name },
    });
    const events = [profile('w1', 'h1', 'old'), profile('w2', 'h2', 'mine'), profile('w3', 'h3', 'newer')];
    const mine = op('write', 'mine', [0, 1], {
      key: 'profile/p1',
      opId: 'w2',
      written: [{ eventId: 'w2', seq: 2, hlc: 'h2' }],
      token: 'T',
    });
    const readName = (name: string) =>
      op('read', null, [2, 3], {
        key: 'profile/p1',
        output: name,
        token: 'T',
        after: 'w2',
        version: 3,
        head: 'x',
      });
    const run = (name: string) =>
      checkReadYourWrites({
        operations: byKey([mine, readName(name)]),
        regions: [snapshot('a', events)],
        registers: reg,
      }).anomalies.length;
    expect([run('mine'), run('newer'), run('old')]).toEqual([0, 0, 1]);
  });
});
