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

// Ops o1..o3 wrote e1..e3 (each event's causationId is its op id).
const history = () => [
  op('open', null, [0, 1], { eventIds: ['e1'], opId: 'o1' }),
  op('deposit', 10, [2, 3], { output: 10, eventIds: ['e2'], opId: 'o2' }),
  op('withdraw', 4, [4, 5], { output: 6, eventIds: ['e3'], opId: 'o3' }),
];
const goodLog = () => [
  accountEvent(1, 'AccountOpened', 0),
  accountEvent(2, 'Deposited', 10),
  accountEvent(3, 'Withdrawn', 4),
];
const row = { opened: true, balance: 6, v: 3 };
const kindsOf = (anomalies: ReadonlyArray<{ kind: string; region?: string }>) =>
  anomalies.map((a) => (a.region ? `${a.kind}@${a.region}` : a.kind));

describe('checkCoreTier', () => {
  it('passes a history whose writes are all in every region with a matching row, deciding the account', () => {
    const regions = ['a', 'b'].map((r) => snapshot(r, goodLog(), { 'account#a1': row }));
    const result = checkCoreTier({ operations: byKey(history()), regions });
    expect(result.anomalies).toEqual([]);
    expect(result.verdicts).toEqual([
      expect.objectContaining({ key: 'account/a1', verdict: 'linearizable' }),
    ]);
  });

  it('reports an acknowledged deposit missing from one region (lost acknowledged write)', () => {
    const regions = [
      snapshot('a', goodLog(), { 'account#a1': row }),
      snapshot(
        'b',
        goodLog().filter((e) => e.seq !== 3),
        { 'account#a1': { ...row, balance: 10, v: 2 } },
      ),
    ];
    expect(kindsOf(checkCoreTier({ operations: byKey(history()), regions }).anomalies)).toContain(
      'lost-write@b',
    );
  });

  it('reports a row that differs from the fold of its log: balance, version or head', () => {
    const regions = [
      snapshot('a', goodLog(), { 'account#a1': { ...row, balance: 7 } }),
      snapshot('b', goodLog(), { 'account#a1': { ...row, head: 'h2' } }),
      snapshot('c', goodLog(), { 'account#a1': { ...row, v: 2 } }),
    ];
    expect(kindsOf(checkCoreTier({ operations: byKey(history()), regions }).anomalies)).toEqual([
      'state-mismatch@a',
      'state-mismatch@b',
      'state-mismatch@c',
    ]);
  });

  it('reports a negative balance along the log', () => {
    const ops = [...history(), op('withdraw', 50, [6, Infinity], { opId: 'o4' })];
    const log = [...goodLog(), accountEvent(4, 'Withdrawn', 50)];
    const regions = [snapshot('a', log, { 'account#a1': { ...row, balance: -44, v: 4 } })];
    expect(kindsOf(checkCoreTier({ operations: byKey(ops), regions }).anomalies)).toContain(
      'negative-balance@a',
    );
  });
});

describe('phantom detection maps every event to exactly one op by its op id', () => {
  const check = (ops: ReturnType<typeof history>, log: ReturnType<typeof goodLog>, balance: number) =>
    kindsOf(
      checkCoreTier({
        operations: byKey(ops),
        regions: [snapshot('a', log, { 'account#a1': { opened: true, balance, v: log.length } })],
      }).anomalies,
    );

  it('reports an event no client operation carries, even when an info op of the same kind and amount exists', () => {
    const ops = [...history(), op('deposit', 5, [6, Infinity], { opId: 'o4' })];
    const log = [...goodLog(), accountEvent(4, 'Deposited', 5, { causationId: 'somebody-else' })];
    expect(check(ops, log, 11)).toContain('phantom-write@a');
  });

  it('reports the effect of a refused (4xx) operation', () => {
    const ops = [...history(), op('withdraw', 5, [6, 7], { error: 'InsufficientFunds', opId: 'o4' })];
    const log = [...goodLog(), accountEvent(4, 'Withdrawn', 5)];
    expect(check(ops, log, 1)).toContain('phantom-write@a');
  });

  it('reports one operation that took effect twice (a command run twice)', () => {
    const ops = [...history(), op('deposit', 5, [6, Infinity], { opId: 'o4' })];
    const log = [
      ...goodLog(),
      accountEvent(4, 'Deposited', 5),
      accountEvent(5, 'Deposited', 5, { causationId: 'o4' }),
    ];
    expect(check(ops, log, 16)).toContain('duplicate-write@a');
  });

  it('accepts an info op whose event is logged once, and an info op that never took effect', () => {
    const ops = [
      ...history(),
      op('deposit', 5, [6, Infinity], { opId: 'o4' }),
      op('deposit', 5, [6, Infinity], { opId: 'o9' }),
    ];
    const log = [...goodLog(), accountEvent(4, 'Deposited', 5)];
    const result = checkCoreTier({
      operations: byKey(ops),
      regions: [snapshot('a', log, { 'account#a1': { ...row, balance: 11, v: 4 } })],
    });
    expect(result.anomalies).toEqual([]);
    expect(result.verdicts[0]).toMatchObject({ infoTookEffect: 1, infoNoEffect: 1, verdict: 'linearizable' });
  });
});

describe('a history recorded without op ids (scenario tests driving commands directly)', () => {
  const bare = (o: ReturnType<typeof op>) => {
    const { opId: _drop, ...rest } = o;
    return rest;
  };

  it('maps an event to the ok op that acknowledged it, else to a distinct info op of the same kind and amount', () => {
    const ops = [...history(), op('deposit', 5, [6, Infinity])].map(bare);
    const log = [...goodLog(), accountEvent(4, 'Deposited', 5)].map((e) => ({ ...e, causationId: 'a-ulid' }));
    const regions = [snapshot('a', log, { 'account#a1': { ...row, balance: 11, v: 4 } })];
    const result = checkCoreTier({ operations: byKey(ops), regions });
    expect(result.anomalies).toEqual([]);
    expect(result.verdicts[0]).toMatchObject({ infoTookEffect: 1, verdict: 'linearizable' });
  });

  it('still reports an event that no op accounts for', () => {
    const ops = history().map(bare);
    const log = [...goodLog(), accountEvent(4, 'Deposited', 5)].map((e) => ({ ...e, causationId: 'a-ulid' }));
    const regions = [snapshot('a', log, { 'account#a1': { ...row, balance: 11, v: 4 } })];
    expect(kindsOf(checkCoreTier({ operations: byKey(ops), regions }).anomalies)).toContain(
      'phantom-write@a',
    );
  });
});

/** The manual-queue record of orphan e4 (seq 4), which lost its fork to x4. */
const orphanOfFork = (orphan: ReturnType<typeof accountEvent>) => ({
  aggregateType: 'account',
  aggregateId: 'a1',
  eventIds: ['e4', 'x4'],
  status: 'open',
  kind: 'core-orphan',
  events: [orphan],
});

describe('core orphans of a fork (the losing branch in the manual queue)', () => {
  // o4 was acknowledged by the old home at seq 4 (e4), the new home wrote x4 at seq 4; failback queued e4.
  const ops = () => [
    ...history(),
    op('deposit', 5, [6, 7], { output: 11, eventIds: ['e4'], opId: 'o4' }),
    op('deposit', 2, [20, 21], { output: 8, eventIds: ['x4'], opId: 'o5' }),
  ];
  const log = () => [...goodLog(), accountEvent(4, 'Deposited', 2, { eventId: 'x4', causationId: 'o5' })];
  const conflict = orphanOfFork(accountEvent(4, 'Deposited', 5));
  const regions = (queuedIn: string[]) =>
    ['a', 'b'].map((r) =>
      snapshot(
        r,
        log(),
        { 'account#a1': { ...row, balance: 8, v: 4, head: 'h4' } },
        queuedIn.includes(r) ? [conflict] : [],
      ),
    );

  // us-east-1 (the orphan's origin) was taken over by a Failover that ended at t=10, after o4's ack at t=7.
  const lost = [{ region: 'us-east-1', until: 10 }];

  it('under ack local counts an acknowledged orphan of a region a Failover took over, queued in every region', () => {
    const result = checkCoreTier({
      operations: byKey(ops()),
      regions: regions(['a', 'b']),
      ackMode: 'local',
      regionLosses: lost,
    });
    expect(result.anomalies).toEqual([]);
    expect(result.orphanedAcknowledged).toBe(1);
  });

  it('under ack local reports an orphan missing from a region queue (deleted, not queued)', () => {
    const result = checkCoreTier({
      operations: byKey(ops()),
      regions: regions(['a']),
      ackMode: 'local',
      regionLosses: lost,
    });
    expect(kindsOf(result.anomalies)).toEqual(['orphan-not-queued@b']);
  });

  it('under ack local reports an orphan no Failover explains (a planned move lost it) as a lost write', () => {
    const unexplained = [[], [{ region: 'us-east-1', until: 5 }], [{ region: 'eu-west-1', until: 99 }]];
    for (const regionLosses of unexplained) {
      const result = checkCoreTier({
        operations: byKey(ops()),
        regions: regions(['a', 'b']),
        ackMode: 'local',
        regionLosses,
      });
      expect(kindsOf(result.anomalies)).toEqual(['lost-write@a', 'lost-write@b']);
    }
  });

  it('without an ack mode (a scenario test) counts an acknowledged orphan kept in every queue as queued', () => {
    const queuedEverywhere = checkCoreTier({ operations: byKey(ops()), regions: regions(['a', 'b']) });
    expect(queuedEverywhere.anomalies).toEqual([]);
    expect(queuedEverywhere.orphanedAcknowledged).toBe(1);
    const deleted = checkCoreTier({ operations: byKey(ops()), regions: regions([]) });
    expect(kindsOf(deleted.anomalies)).toEqual(
      expect.arrayContaining(['lost-write@a', 'lost-write@b', 'not-linearizable']),
    );
  });

  it('under ack quorum reports the queued orphan as a lost acknowledged write', () => {
    const result = checkCoreTier({
      operations: byKey(ops()),
      regions: regions(['a', 'b']),
      ackMode: 'quorum',
    });
    expect(kindsOf(result.anomalies)).toEqual(expect.arrayContaining(['lost-write@a', 'lost-write@b']));
  });
});

describe('linearizability verdicts', () => {
  it('reports a non-linearizable history (a stale balance acknowledged)', () => {
    const ops = [...history(), op('deposit', 1, [6, 7], { output: 11, eventIds: ['e4'], opId: 'o4' })];
    const regions = [
      snapshot('a', [...goodLog(), accountEvent(4, 'Deposited', 1)], {
        'account#a1': { ...row, balance: 7, v: 4 },
      }),
    ];
    const result = checkCoreTier({ operations: byKey(ops), regions });
    expect(kindsOf(result.anomalies)).toEqual(['not-linearizable']);
    expect(result.verdicts[0]?.verdict).toBe('not-linearizable');
  });

  it('counts an undecided account as an anomaly, never as a pass', () => {
    const deposits = Array.from({ length: 8 }, (_, i) =>
      op('deposit', 1 + i, [2, 100], { output: null, eventIds: [`d${i}`], opId: `d${i}` }),
    );
    const log = [
      accountEvent(1, 'AccountOpened', 0),
      ...deposits.map((d, i) =>
        accountEvent(i + 2, 'Deposited', 1 + i, { eventId: `d${i}`, causationId: d.opId! }),
      ),
    ];
    const ops = [op('open', null, [0, 1], { eventIds: ['e1'], opId: 'o1' }), ...deposits];
    const balance = deposits.reduce((s, _, i) => s + 1 + i, 0);
    const regions = [snapshot('a', log, { 'account#a1': { opened: true, balance, v: 9, head: 'h9' } })];
    const result = checkCoreTier({ operations: byKey(ops), regions, maxExplored: 3 });
    expect(result.undecided).toBe(1);
    expect(kindsOf(result.anomalies)).toEqual(['undecided']);
  });
});

describe('checkFencing', () => {
  it('passes one origin per (partition, epoch) and reports two writers in one epoch, and the fork they made', () => {
    const east = snapshot('us-east-1', goodLog());
    expect(checkFencing([east, snapshot('eu-west-1', goodLog())]).anomalies).toEqual([]);
    const second = snapshot('eu-west-1', [
      ...goodLog().slice(0, 2),
      accountEvent(3, 'Deposited', 1, { eventId: 'x3', origin: 'eu-west-1' }),
    ]);
    expect(kindsOf(checkFencing([east, second]).anomalies)).toEqual(['double-epoch', 'forked-log']);
  });

  it('allows two origins for one partition at different epochs (a move)', () => {
    const moved = [...goodLog(), accountEvent(4, 'Deposited', 1, { origin: 'eu-west-1', epoch: 4 })];
    expect(checkFencing([snapshot('a', moved)]).anomalies).toEqual([]);
  });
});

describe('checkImportantTier', () => {
  const reg = [{ aggregateType: 'profile', eventType: 'DisplayNameSet', field: 'displayName' }];
  const ev = (id: string, hlc: string, name: string, causationId = id) => ({
    ...accountEvent(1, 'DisplayNameSet', 0),
    aggregateType: 'profile',
    aggregateId: 'p1',
    eventId: id,
    hlc,
    causationId,
    core: false,
    payload: { displayName: name },
  });
  const ops = [
    op('write', 'x', [0, 2], { key: 'profile/p1', eventIds: ['w1'], opId: 'w1' }),
    op('write', 'y', [1, 3], { key: 'profile/p1', eventIds: ['w2'], opId: 'w2' }),
  ];
  const log = [ev('w1', 'h1', 'x'), ev('w2', 'h2', 'y')];

  it('passes converged regions holding the highest-HLC value, counting the write lost to lww', () => {
    const regions = ['a', 'b'].map((r) => snapshot(r, log, { 'profile#p1': { displayName: 'y' } }));
    const result = checkImportantTier({ operations: byKey(ops), regions, registers: reg });
    expect(result.anomalies).toEqual([]);
    expect(result.lostToLww).toBe(1);
  });

  it('reports divergence, a wrong lww choice, a missing write and a phantom', () => {
    const regions = [
      snapshot('a', [...log, ev('w3', 'h3', 'z', 'nobody')], { 'profile#p1': { displayName: 'y' } }),
      snapshot('b', [log[1]!], { 'profile#p1': { displayName: 'x' } }),
    ];
    const kinds = checkImportantTier({ operations: byKey(ops), regions, registers: reg }).anomalies.map(
      (a) => a.kind,
    );
    expect(kinds).toEqual(
      expect.arrayContaining(['divergence', 'lww-mismatch', 'lost-write', 'phantom-write']),
    );
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

  it('pairs invocations with completions, keeps op ids and tokens, and turns an unanswered one into info', () => {
    let t = 0;
    const h = new HistoryRecorder(() => t++);
    h.record({ process: 'c1', type: 'invoke', f: 'deposit', key: 'account/a', value: 5, opId: 'k1' });
    h.record({ process: 'c2', type: 'invoke', f: 'deposit', key: 'account/a', value: 6, opId: 'k2' });
    h.record({
      process: 'c1',
      type: 'ok',
      f: 'deposit',
      key: 'account/a',
      value: 5,
      eventIds: ['e'],
      token: 'T',
    });
    const ops = pairOperations(h.events());
    expect(ops.map((o) => [o.opId, o.input, o.outcome, o.output, o.completedAt, o.token])).toEqual([
      ['k1', 5, 'ok', 5, 2, 'T'],
      ['k2', 6, 'info', null, Infinity, undefined],
    ]);
  });
});

describe('refusals decided on a branch lost with its region (ack local)', () => {
  // us-east-1 acknowledged o4 (withdraw 5 -> 1) at seq 4, refused o6 (withdraw 3: balance 1), then was taken
  // over by a Failover that ended at t=10; the new home wrote x4 at seq 4 and failback queued e4.
  const ops = (refusal: { region: string; window: [number, number] }) => [
    ...history(),
    { ...op('withdraw', 5, [6, 7], { output: 1, eventIds: ['e4'], opId: 'o4' }), region: 'us-east-1' },
    {
      ...op('withdraw', 3, refusal.window, { error: 'InsufficientFunds', opId: 'o6' }),
      region: refusal.region,
    },
    op('deposit', 2, [20, 21], { output: 8, eventIds: ['x4'], opId: 'o5' }),
  ];
  const conflict = orphanOfFork(accountEvent(4, 'Withdrawn', 5));
  const log = [...goodLog(), accountEvent(4, 'Deposited', 2, { eventId: 'x4', causationId: 'o5' })];
  const regions = ['a', 'b'].map((r) =>
    snapshot(r, log, { 'account#a1': { ...row, balance: 8, v: 4, head: 'h4' } }, [conflict]),
  );
  const check = (refusal: { region: string; window: [number, number] }) =>
    checkCoreTier({
      operations: byKey(ops(refusal)),
      regions,
      ackMode: 'local',
      regionLosses: [{ region: 'us-east-1', until: 10 }],
    });

  it("leaves out the lost home's refusal, like the lost write it was decided on", () => {
    const result = check({ region: 'us-east-1', window: [8, 9] });
    expect(result.anomalies).toEqual([]);
    expect(result.verdicts).toEqual([expect.objectContaining({ orphaned: 1, refusalsOnLostBranch: 1 })]);
  });

  it('still checks a refusal from another region, or given after the Failover ended', () => {
    for (const refusal of [
      { region: 'eu-west-1', window: [8, 9] as [number, number] },
      { region: 'us-east-1', window: [11, 12] as [number, number] },
    ])
      expect(kindsOf(check(refusal).anomalies)).toEqual(['not-linearizable']);
  });
});

describe("a home's epoch no-op is nobody's effect", () => {
  // The home sealed seq 3's head with its epoch no-op before refusing o4 (withdraw 9 on 6), and o5's
  // withdraw of 10 timed out (info) after the home's seal for it: both no-ops carry their op's id.
  const seal = (seq: number, cause: string) =>
    accountEvent(seq, 'EpochNoOp', 0, { eventId: `n${seq}`, causationId: cause, payload: { epoch: 3 } });
  const regions = ['a', 'b'].map((r) =>
    snapshot(r, [...goodLog(), seal(4, 'o4'), seal(5, 'o5')], { 'account#a1': { ...row, v: 5, head: 'h5' } }),
  );
  const ops = [
    ...history(),
    op('withdraw', 9, [6, 7], { error: 'InsufficientFunds', opId: 'o4' }),
    op('withdraw', 10, [8, Infinity], { opId: 'o5' }),
  ];

  it('is no phantom write of a refused op, and no effect of an info op', () => {
    const result = checkCoreTier({ operations: byKey(ops), regions, ackMode: 'local' });
    expect(result.anomalies).toEqual([]);
    expect(result.verdicts).toEqual([
      expect.objectContaining({ verdict: 'linearizable', infoTookEffect: 0, infoNoEffect: 1 }),
    ]);
  });
});
