import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { deliverDirectly } from '../../../lib/runbooks/direct-delivery.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { regionCell, repairCells as repair } from './branch-cells.ts';
import { retireRacing } from './retire-deletes.ts';

// Second adversarial review of i17-drill (after the fixes of review-drill.test.ts). Each `it` states the
// guarantee it attacks; a failure here is a finding (see the review report), not a flaky test.

const R = 'us-east-1';
const P = 'eu-west-1';
const S = 'ap-southeast-1';
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);
const uid = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

/** Repair's tasks run from `from` over `peers` (the execution input), the Map run inline. */

async function three() {
  const cells: Cell[] = [];
  const r = await makeCell(R, { topology, peers: () => cells });
  const p = await makeCell(P, { topology, peers: () => cells });
  const s = await makeCell(S, { topology, peers: () => cells });
  cells.push(r, p, s);
  return { r, p, s, cells };
}

const deliver = async (to: Cell, events: readonly EventEnvelope[]) => {
  for (const event of events) await to.apply(structuredClone(event));
};

/**
 * F4, guarantee "RPO / watermarks never over-report". R's publisher could not put E on its bus (a
 * throttled batch): E is held, every heartbeat of R carries `unpublishedFrom` = E, so no peer's watermark
 * from R passes E. A Repair run over R and P only (S unreachable, or left out of the execution's `peers`)
 * replays E into P, then releases the hold because "every peer" (every region of the run) holds E. S,
 * which lacks E, then receives R's next heartbeat without the floor: its watermark from R passes an event
 * it does not hold (read-your-writes served stale at S, Failover's RPO window from R says nothing lost).
 */
describe('review 2: a publish hold released by a Repair over a subset of the regions', () => {
  it('keeps the hold of an event a region outside the run still lacks', async () => {
    const { r, p, s, cells } = await three();
    const id = uid('hold');
    const { events } = await r.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
    } as never);
    const e = events[0]!;
    const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
    await holds.hold([{ id: e.eventId, hlc: e.hlc, partition: e.partition }]);
    await repair(R, cells, [e.partition], [R, P]);
    // The verifying pass over the same regions (the restore procedure runs passes until nothing lacks).
    const report = await repair(R, cells, [e.partition], [R, P]);
    expect((await p.events.loadStream('account', id)).map((x) => x.eventId)).toEqual([e.eventId]);
    // S never got E...
    expect(await s.events.loadStream('account', id)).toEqual([]);
    // ...yet R's heartbeats no longer hold S's watermark below E.
    expect({ released: report.holdsReleased, oldest: await holds.oldest() }).toEqual({
      released: 0,
      oldest: e.hlc,
    });
  });
});

/**
 * Guarantee 6 (a core log never joins two branches) and the F1 fix. C holds a stale writer S's branch
 * X2-X3 (row folded through X3); S also wrote X4 on top of it, which C lacks. The home H holds Y2. A retire
 * of X2-X3 at C (Repair-1's settleForks, its `losing` read from C's log before X4 arrived) is about to
 * delete X3. Just before its first delete, a second Repair (whose snapshot saw no fork) puts X4 into C
 * directly: the row is at X3, X4 extends it, X3 is still in its slot, so the new guard folds X4 and appends
 * it in one transaction. The retire then deletes X3 and X2 (each conditional on its own eventId only) and
 * rebuilds the row to seq 1: C's log is 1, _, _, X4: an event of the retired branch left in the log, in no
 * queue, and the home's acknowledged Y4 is then refused at C as a fencing violation (quarantined).
 */
async function retireRacedAtFirstDelete(insert: (c: Cell, x4: EventEnvelope) => Promise<unknown>) {
  const { r: h, p: c, s, cells } = await three();
  const id = uid('retire');
  const exec = (cell: Cell, command: object) =>
    cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
  const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
  await deliver(c, opened);
  await deliver(s, opened);
  const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
  const x3 = (await exec(s, { type: 'Deposit', payload: { amount: 3 } })).events;
  const x4 = (await exec(s, { type: 'Deposit', payload: { amount: 4 } })).events;
  await deliver(c, [...x2, ...x3]);
  const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
  expect((await c.states.getState('account', id))?.seq).toBe(3);

  let raced: unknown;
  await retireRacing(
    c,
    cells,
    { losing: [...x2, ...x3], winning: [...opened, ...y2] },
    async () => {
      raced = await insert(c, x4[0]!);
    },
    'before',
  );
  const afterRetire = (await c.events.loadStream('account', id)).map((e) => e.eventId);
  const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
  const y4 = (await exec(h, { type: 'Deposit', payload: { amount: 40 } })).events;
  await deliver(c, [...y2, ...y3, ...y4]);
  const atC = (await c.events.loadStream('account', id)).map((e) => e.eventId);
  const queuedX4 = (await c.conflicts.listForAggregate('account', id)).some((rec) =>
    rec.eventIds.includes(x4[0]!.eventId),
  );
  return {
    raced,
    afterRetire,
    atC,
    x4: x4[0]!.eventId,
    y: [...y2, ...y3, ...y4].map((e) => e.eventId),
    c,
    queuedX4,
  };
}

describe('review 2: direct delivery on top of a branch a retire is about to delete', () => {
  it('never leaves an event of a retired branch in the log, outside every queue', async () => {
    const run = await retireRacedAtFirstDelete((c, x4) => deliverDirectly(regionCell(c), [x4], registry));
    expect(run.raced).toMatchObject({ delivered: 1 });
    // On i17-drill (fixes included): C's log after the retire is 1, X4; the home's Y2-Y4 then land as
    // 1, Y2, Y3 with X4 still at seq 4 and Y4 quarantined as a fencing violation.
    expect({
      afterRetire: run.afterRetire.includes(run.x4),
      landed: run.y.every((y) => run.atC.includes(y)),
      quarantined: await run.c.quarantine.count(),
    }).toEqual({ afterRetire: false, landed: true, quarantined: 0 });
  });

  it('control: the applier racing the same retire (pre-existing, not new in i17-drill)', async () => {
    const run = await retireRacedAtFirstDelete((c, x4) => c.apply(structuredClone(x4)));
    expect({
      afterRetire: run.afterRetire.includes(run.x4),
      landed: run.y.every((y) => run.atC.includes(y)),
      quarantined: await run.c.quarantine.count(),
    }).toEqual({ afterRetire: false, landed: true, quarantined: 0 });
  });
});

describe('review 2: the retire race, with the switch retire-one-event-at-a-time', () => {
  it('leaves the event delivered on top of the branch in the log when the retire deletes one event at a time', async () => {
    const run = await withBug('retire-one-event-at-a-time', () =>
      retireRacedAtFirstDelete((c, x4) => c.apply(structuredClone(x4))),
    );
    expect(run.afterRetire).toContain(run.x4);
    expect(run.queuedX4).toBe(false);
  });

  it('queues the event delivered on top of the branch before the atomic retire takes it out', async () => {
    const run = await retireRacedAtFirstDelete((c, x4) => c.apply(structuredClone(x4)));
    expect({ afterRetire: run.afterRetire.includes(run.x4), queued: run.queuedX4 }).toEqual({
      afterRetire: false,
      queued: true,
    });
  });

  it('lets a copy back into the log between two deletes when the retire deletes one event at a time', async () => {
    const run = await withBug('retire-one-event-at-a-time', () =>
      retireOfCopiesRacedBy((c, x3) => deliverDirectly(regionCell(c), [x3], registry)),
    );
    expect(run.afterRetire).toBe(true);
  });
});

/**
 * F4 incomplete. P, a stale writer of an account homed at R, logged X2 but its publisher could not put it
 * on the bus: X2 is held at P. R (the home) wrote Y2. Repair settles the fork onto the home's branch: X2
 * is retired from P's log into every manual queue. No peer will ever hold X2 (it left every log), so
 * releasePublishedHolds keeps its hold for good; P's stream no longer has X2 to publish either (after a
 * restore it never had). Every heartbeat of P carries `unpublishedFrom` = X2's HLC from then on: every
 * peer's watermark from P stops there (lag from P grows without end, the sync breaker opens, Failover's
 * RPO window from P is wrong), while Repair and its verifying pass report nothing left to do.
 */
async function retiredHold() {
  const { branchWorld, runRepair, A: a, B: b, C: c } = await import('./branch-cells.ts');
  const world = await branchWorld(a);
  const { id, partition } = await world.account('retired-hold', a);
  const opened = await world.write(a, id, {
    type: 'OpenAccount',
    payload: { owner: 'o', currency: 'EUR' },
  });
  await world.deliver(b, opened);
  await world.deliver(c, opened);
  const stale = world.cells[b]!;
  const x2 = (
    await stale.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'Deposit', payload: { amount: 2 } },
    } as never)
  ).events[0]!;
  const holds = new DynamoPublishHolds({ client: stale.db.doc, tableName: stale.db.tables.replication });
  await holds.hold([{ id: x2.eventId, hlc: x2.hlc, partition: x2.partition }]);
  const y2 = await world.write(a, id, { type: 'Deposit', payload: { amount: 20 } });
  await world.deliver(c, y2);
  const first = await runRepair(world, { partitions: [partition] });
  const verifying = await runRepair(world, { partitions: [partition] });
  return { first, verifying, holds, stale, x2, id };
}

describe('review 2: the publish hold of an event retired into the manual queue', () => {
  it('leaves no hold for an event that left every log once Repair and its verifying pass are done', async () => {
    const { first, verifying, holds, stale, x2, id } = await retiredHold();
    expect(first.eventsQueued).toBeGreaterThan(0);
    expect((await stale.events.loadStream('account', id)).map((e) => e.eventId)).not.toContain(x2.eventId);
    expect(verifying).toMatchObject({ partitionsDiffering: 0, eventsReplayed: 0 });
    expect(await holds.oldest()).toBeUndefined();
    expect(verifying.holdsKept).toBe(0);
  });

  it('with repair-keeps-retired-holds, keeps it and reports it kept', async () => {
    const { verifying, holds, x2 } = await withBug('repair-keeps-retired-holds', retiredHold);
    expect(await holds.oldest()).toBe(x2.hlc);
    expect(verifying.holdsKept).toBe(1);
  });
});

describe('review 2: holds Repair keeps are reported', () => {
  it('reports the hold a region outside the run lacks the event of as kept', async () => {
    const { r, p, cells } = await three();
    const { events } = await r.execute({
      aggregateType: 'account',
      aggregateId: uid('kept'),
      command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
    } as never);
    const e = events[0]!;
    const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
    await holds.hold([{ id: e.eventId, hlc: e.hlc, partition: e.partition }]);
    await deliver(p, events);
    const report = await repair(R, cells, [e.partition], [R, P]);
    expect({ kept: report.holdsKept, ids: report.holdsKeptIds }).toEqual({
      kept: 1,
      ids: [`${R}:${e.eventId}`],
    });
  });

  it('keeps and reports a hold with no event behind it (an unreadable stream record)', async () => {
    const { r, cells } = await three();
    const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
    const hlc = '0000000000001.000000.us-east-1';
    await holds.hold([{ id: 'record:4900000000000000000001', hlc }]);
    const report = await repair(R, cells, [0]);
    expect({ released: report.holdsReleased, kept: report.holdsKept, oldest: await holds.oldest() }).toEqual({
      released: 0,
      kept: 1,
      oldest: hlc,
    });
  });
});

/**
 * F1's guard leans on the row being ahead of its log while a branch is retired; a row BEHIND its log
 * defeats it. C holds a stale writer's X2-X3 as quorum-ack copies (appended to its log, never folded: its
 * row is at seq 1). A retire of X2-X3 at C deletes X3, then X2. Between the two deletes a second Repair
 * (whose snapshot saw no fork) puts X3 back into C directly from S: the row (seq 1) is not at or past seq
 * 3, so no `row-ahead`; X2 is still in its slot, so the predecessor guard holds; the row guard is a plain
 * "unchanged" check. X3 goes in, the retire then deletes X2: C's log is 1, _, X3 (the original F1 break).
 */
async function retireOfCopiesRacedBy(insert: (c: Cell, x3: EventEnvelope) => Promise<unknown>) {
  {
    const { r: h, p: c, s, cells } = await three();
    const id = uid('copies');
    const exec = (cell: Cell, command: object) =>
      cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
    const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
    await deliver(c, opened);
    await deliver(s, opened);
    const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
    const x3 = (await exec(s, { type: 'Deposit', payload: { amount: 3 } })).events;
    // Quorum-ack copies: in C's log, not in its row.
    await c.events.appendEvents([...x2, ...x3], { tier: 'core', received: true });
    const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
    expect((await c.states.getState('account', id))?.seq).toBe(1);
    let raced: unknown;
    await retireRacing(c, cells, { losing: [...x2, ...x3], winning: [...opened, ...y2] }, async () => {
      raced = await insert(c, x3[0]!);
    });
    const afterRetire = (await c.events.loadStream('account', id)).map((e) => e.eventId);
    const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
    await deliver(c, [...y2, ...y3]);
    const atC = (await c.events.loadStream('account', id)).map((e) => e.eventId);
    return {
      raced,
      afterRetire: afterRetire.includes(x3[0]!.eventId),
      landed: [...y2, ...y3].every((y) => atC.includes(y.eventId)),
      quarantined: await c.quarantine.count(),
    };
  }
}

describe('review 2: direct delivery racing a retire of copies its row never folded', () => {
  it("never puts a retired branch's event back into a log whose row lags it", async () => {
    const run = await retireOfCopiesRacedBy((c, x3) => deliverDirectly(regionCell(c), [x3], registry));
    // On i17-drill: deliverDirectly reports X3 delivered; C's log after the retire is 1, X3, and Y3 is
    // then quarantined at C as a fencing violation.
    expect(run).toEqual({
      raced: expect.objectContaining({ delivered: 0 }),
      afterRetire: false,
      landed: true,
      quarantined: 0,
    });
  });

  it('control: the applier racing the same retire (its catch-up folds X2 first, then X3 extends it)', async () => {
    const run = await retireOfCopiesRacedBy((c, x3) => c.apply(structuredClone(x3)));
    expect({ ...run, raced: undefined }).toEqual({
      raced: undefined,
      afterRetire: false,
      landed: true,
      quarantined: 0,
    });
  });
});

/**
 * F2, guarantee 4 (a manual conflict is never resolved silently). A manual conflict is open in R and P.
 * The operator resolves it from R: R appends its ConflictResolved event Z and marks its record resolved;
 * Z has not reached P yet. A Repair starts: ListPartitions' resolveEverywhere marks P's record resolved
 * from R's record alone (P's log lacks Z). R is then lost before Z leaves it and restored to a point before
 * Z (the restore drill's scenario): Z exists in no log. The Repair goes on, and its verifying pass marks
 * R's restored (open) record resolved too, from P's. Every queue now says "resolved by Z" while no region
 * holds Z: the conflict was resolved by nothing, no operator is offered it, and both rows stay frozen.
 */
async function lostResolution() {
  const { r, p } = await three().then(({ r, p }) => ({ r, p }));
  const cells = [r, p];
  const id = uid('lost-resolution');
  const name = (cell: Cell, displayName: string) =>
    cell.execute({
      aggregateType: 'profile-manual',
      aggregateId: id,
      command: { type: 'SetDisplayName', payload: { displayName } },
    } as never);
  const base = await name(r, 'base');
  await deliver(p, base.events);
  const a = await name(r, 'r');
  const b = await name(p, 'p');
  await deliver(p, a.events);
  await deliver(r, b.events);
  const partition = base.events[0]!.partition;
  const { copyTables, restoreTables } = await import('../../../lib/sandbox/dynamodb/table-copy.ts');
  const { resolveConflict } = await import('../../../lib/conflict/index.ts');
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  const z = await resolveConflict(
    {
      registry,
      topology,
      events: r.events,
      states: r.states,
      records: r.conflicts,
      clock: r.clock,
      region: R,
      partitions: topology.partitions,
    },
    {
      aggregateType: 'profile-manual',
      aggregateId: id,
      state: { displayName: 'agreed', email: null, preferences: [] },
    },
  );
  // A Repair's ListPartitions runs while Z is only at R...
  const deps = {
    region: P,
    topology: { ...topology, regions: cells.map((c) => ({ name: c.region })) },
    registry,
    cell: (n: string) => regionCell(cells.find((c) => c.region === n)!),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
  const run = createRunbookDispatcher(deps);
  await run({ runbook: 'repair', task: 'ListPartitions', input: { partitions: [partition] } });
  // ...then R is lost before Z leaves it, and restored to before Z.
  await restoreTables(r.db.dynamodb, copy);
  await repair(P, cells, [partition]);
  await repair(P, cells, [partition]);
  const where: Record<string, { status: string[]; holdsResolution: boolean; frozen: boolean }> = {};
  for (const cell of cells)
    where[cell.region] = {
      status: (await cell.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status),
      holdsResolution: (await cell.events.loadStream('profile-manual', id)).some(
        (e) => e.eventId === z.eventId,
      ),
      frozen: (await cell.states.getState('profile-manual', id))?.frozen === true,
    };
  return where;
}

describe('review 2: a pair marked resolved everywhere from a record whose resolution event is lost', () => {
  it('never marks a record resolved where the resolution event is in no log', async () => {
    const where = await lostResolution();
    // On i17-drill: both records are 'resolved' (by Z) while neither log holds Z and both rows stay frozen.
    expect(where).toEqual({
      [R]: { status: ['open'], holdsResolution: false, frozen: true },
      [P]: { status: ['open'], holdsResolution: false, frozen: true },
    });
  });

  it('with repair-resolves-unlogged, marks both records resolved by an event no log holds', async () => {
    const where = await withBug('repair-resolves-unlogged', lostResolution);
    expect(Object.values(where).map((w) => ({ status: w.status, holds: w.holdsResolution }))).toEqual([
      { status: ['resolved'], holds: false },
      { status: ['resolved'], holds: false },
    ]);
  });
});

describe('review 2 fix: the atomic retire takes along what lies on top of its branch, but no winning event', () => {
  it('leaves a winning-branch event logged above the branch (a log joined before) in place, unqueued', async () => {
    const { r: h, p: c, s, cells } = await three();
    const id = uid('joined');
    const exec = (cell: Cell, command: object) =>
      cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
    const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
    await deliver(c, opened);
    await deliver(s, opened);
    const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
    const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
    const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
    // C's log joined before the fix: 1, X2, Y3 (copies, its row at seq 1).
    await c.events.appendEvents([...x2, ...y3], { tier: 'core', received: true });
    const out = await retireCoreBranch({
      cell: {
        region: P,
        events: c.events,
        states: c.states,
        tables: { client: c.db.doc, events: c.db.tables.events },
      },
      queues: cells.map((x) => x.conflicts),
      aggregate: account,
      losing: x2,
      winning: [...opened, ...y2, ...y3],
      reason: 'fork',
    });
    const orphans = (await c.conflicts.listForAggregate('account', id)).map(
      (rec) => (rec as unknown as { versions: { orphan: EventEnvelope } }).versions.orphan.eventId,
    );
    expect({
      retired: out.retired.map((e) => e.eventId),
      log: (await c.events.loadStream('account', id)).map((e) => e.eventId),
      orphans,
    }).toEqual({
      retired: [x2[0]!.eventId],
      log: [opened[0]!.eventId, y3[0]!.eventId],
      orphans: [x2[0]!.eventId],
    });
  });
});
