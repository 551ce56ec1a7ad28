import { describe, expect, it } from 'vitest';
import {
  byKey,
  checkCoreTier,
  checkFencing,
  checkImportantTier,
  checkStranded,
  HistoryRecorder,
  pairOperations,
} from '../../../lib/verify/index.ts';
import { accountEvent, op, snapshot } from './ops.ts';

const history = () => [
  op('open', null, [0, 1], { eventIds: ['e1'] }),
  op('deposit', 10, [2, 3], { output: 10, eventIds: ['e2'] }),
  op('withdraw', 4, [4, 5], { output: 6, eventIds: ['e3'] }),
];
const goodLog = () => [
  accountEvent(1, 'AccountOpened', 0),
  accountEvent(2, 'Deposited', 10),
  accountEvent(3, 'Withdrawn', 4),
];
const row = { opened: true, balance: 6, v: 3 };

describe('checkCoreTier', () => {
  it('passes a history whose writes are all in every region with a matching balance', () => {
    const regions = ['a', 'b'].map((r) => snapshot(r, goodLog(), { 'account#a1': row }));
    const result = checkCoreTier({ operations: byKey(history()), regions });
    expect(result.anomalies).toEqual([]);
    expect(result.linearizable).toBe(1);
  });

  it('reports an acknowledged deposit missing from one region', () => {
    const regions = [
      snapshot('a', goodLog(), { 'account#a1': row }),
      snapshot(
        'b',
        goodLog().filter((e) => e.seq !== 3),
        { 'account#a1': { ...row, balance: 10, v: 2 } },
      ),
    ];
    const kinds = checkCoreTier({ operations: byKey(history()), regions }).anomalies.map(
      (a) => `${a.kind}@${a.region}`,
    );
    expect(kinds).toContain('lost-write@b');
  });

  it('counts an acknowledged event kept in the manual conflict queue as queued, not lost', () => {
    const retired = goodLog().find((e) => e.seq === 3)!;
    const regions = [
      snapshot('a', goodLog(), { 'account#a1': row }),
      {
        ...snapshot(
          'b',
          goodLog().filter((e) => e.seq !== 3),
          { 'account#a1': { ...row, balance: 10, v: 2 } },
        ),
        queued: [retired],
      },
    ];
    const kinds = checkCoreTier({ operations: byKey(history()), regions }).anomalies.map((a) => a.kind);
    expect(kinds).not.toContain('lost-write');
  });

  it('reports a log that joins two branches (an event whose prev is not the event before it)', () => {
    const joined = [
      ...goodLog().slice(0, 2),
      accountEvent(3, 'Withdrawn', 4, { prev: 'h2-of-another-branch' }),
    ];
    const regions = [snapshot('a', joined, { 'account#a1': row })];
    const found = checkCoreTier({ operations: byKey(history()), regions }).anomalies;
    expect(found.map((a) => `${a.kind}@${a.region}`)).toEqual(['broken-chain@a']);
  });

  it('reports a negative balance along the log and an event no client sent', () => {
    const log = [...goodLog(), accountEvent(4, 'Withdrawn', 50)];
    const regions = [snapshot('a', log, { 'account#a1': { ...row, balance: -44, v: 4 } })];
    const kinds = checkCoreTier({ operations: byKey(history()), regions }).anomalies.map((a) => a.kind);
    expect(kinds).toEqual(expect.arrayContaining(['negative-balance', 'phantom-write']));
  });

  it('accepts an unacknowledged event matched by an indeterminate op', () => {
    const ops = [...history(), op('deposit', 5, [6, Infinity])];
    const regions = [
      snapshot('a', [...goodLog(), accountEvent(4, 'Deposited', 5)], {
        'account#a1': { ...row, balance: 11, v: 4 },
      }),
    ];
    expect(checkCoreTier({ operations: byKey(ops), regions }).anomalies).toEqual([]);
  });

  it('reports a non-linearizable history (a stale balance acknowledged)', () => {
    const ops = [...history(), op('deposit', 1, [6, 7], { output: 11, eventIds: ['e4'] })];
    const regions = [
      snapshot('a', [...goodLog(), accountEvent(4, 'Deposited', 1)], {
        'account#a1': { ...row, balance: 7, v: 4 },
      }),
    ];
    const anomalies = checkCoreTier({ operations: byKey(ops), regions }).anomalies;
    expect(anomalies.map((a) => a.kind)).toEqual(['not-linearizable']);
  });
});

describe('checkFencing', () => {
  it('passes one origin per (partition, epoch) and reports two, plus a forked seq', () => {
    const east = snapshot('us-east-1', goodLog());
    expect(checkFencing([east, snapshot('eu-west-1', goodLog())]).anomalies).toEqual([]);
    const forked = snapshot('eu-west-1', [
      ...goodLog().slice(0, 2),
      accountEvent(3, 'Deposited', 1, { eventId: 'x3', origin: 'eu-west-1' }),
    ]);
    const kinds = checkFencing([east, forked]).anomalies.map((a) => a.kind);
    expect(kinds).toEqual(['double-epoch', 'forked-log']);
  });

  it('allows two origins for one partition at different epochs (a move)', () => {
    const moved = [...goodLog(), accountEvent(4, 'Deposited', 1, { origin: 'eu-west-1', epoch: 4 })];
    expect(checkFencing([snapshot('a', moved)]).anomalies).toEqual([]);
  });
});

describe('checkImportantTier', () => {
  const reg = [{ aggregateType: 'profile', eventType: 'DisplayNameSet', field: 'displayName' }];
  const ev = (id: string, hlc: string, name: string) => ({
    ...accountEvent(1, 'DisplayNameSet', 0),
    aggregateType: 'profile',
    aggregateId: 'p1',
    eventId: id,
    hlc,
    core: false,
    payload: { displayName: name },
  });
  const ops = [
    op('write', 'x', [0, 2], { key: 'profile/p1', eventIds: ['w1'] }),
    op('write', 'y', [1, 3], { key: 'profile/p1', eventIds: ['w2'] }),
  ];
  const log = [ev('w1', 'h1', 'x'), ev('w2', 'h2', 'y')];

  it('passes converged regions holding the highest-HLC value, counting the write lost to lww', () => {
    const regions = ['a', 'b'].map((r) => snapshot(r, log, { 'profile#p1': { displayName: 'y' } }));
    const result = checkImportantTier({ operations: byKey(ops), regions, registers: reg });
    expect(result.anomalies).toEqual([]);
    expect(result.lostToLww).toBe(1);
  });

  it('reports divergence, a wrong lww choice and a missing write', () => {
    const regions = [
      snapshot('a', log, { 'profile#p1': { displayName: 'y' } }),
      snapshot('b', [log[1]!], { 'profile#p1': { displayName: 'x' } }),
    ];
    const kinds = checkImportantTier({ operations: byKey(ops), regions, registers: reg }).anomalies.map(
      (a) => a.kind,
    );
    expect(kinds).toEqual(expect.arrayContaining(['divergence', 'lww-mismatch', 'lost-write']));
  });
});

describe('checkStranded and the history recorder', () => {
  it('reports unexplained quarantine entries, parked events and dead letters', () => {
    const region = {
      ...snapshot('a', []),
      quarantine: [
        { reason: 'ClockDrift', message: 'm' },
        { reason: 'ForgedOrigin', message: 'f' },
      ],
      parked: 1,
    };
    const result = checkStranded({
      regions: [region],
      deadLetters: { a: 2 },
      explain: (e) => (e.reason === 'ForgedOrigin' ? 'injected' : undefined),
    });
    expect(result.anomalies.map((a) => a.kind)).toEqual(['quarantined', 'parked', 'dead-letter']);
    expect(result.explained).toBe(1);
  });

  it('pairs invocations with completions and turns an unanswered one into info', () => {
    let t = 0;
    const h = new HistoryRecorder(() => t++);
    h.record({ process: 'c1', type: 'invoke', f: 'deposit', key: 'account/a', value: 5 });
    h.record({ process: 'c2', type: 'invoke', f: 'deposit', key: 'account/a', value: 6 });
    h.record({ process: 'c1', type: 'ok', f: 'deposit', key: 'account/a', value: 5, eventIds: ['e'] });
    const ops = pairOperations(h.events());
    expect(ops.map((o) => [o.input, o.outcome, o.output, o.completedAt])).toEqual([
      [5, 'ok', 5, 2],
      [6, 'info', null, Infinity],
    ]);
  });
});
