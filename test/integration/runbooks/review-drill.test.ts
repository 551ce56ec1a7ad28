import { describe, expect, it } from 'vitest';
import { resolveConflict } from '../../../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { deliverDirectly } from '../../../lib/runbooks/direct-delivery.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { regionCell, repairCells as repair } from './branch-cells.ts';
import { retireRacing } from './retire-deletes.ts';

// Adversarial review of i17-drill (review-drill branch). Each `it` states the guarantee it attacks; a
// failure here is a finding (see the review report), not a flaky test.

const R = 'us-east-1';
const P = 'eu-west-1';
const S = 'ap-southeast-1';
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);
const uid = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

/** Repair's tasks run from `from` over `cells` (the Map run inline), replay through each cell's applier. */

async function pair() {
  const cells: Cell[] = [];
  const r = await makeCell(R, { topology, peers: () => cells });
  const p = await makeCell(P, { topology, peers: () => cells });
  cells.push(r, p);
  return { r, p, cells };
}

const deliver = async (to: Cell, events: readonly EventEnvelope[]) => {
  for (const event of events) await to.apply(structuredClone(event));
};

describe('review: a conflict resolved after T by the restored region itself', () => {
  /**
   * Guarantee 5 (no resolved record resurrected). A manual (important-tier) conflict is open in R and P
   * at T. After T the operator resolves it from R: R's own ConflictResolved event, replicated to P, marks
   * both records resolved. R is restored to T (its record is open again, its log lacks the resolution).
   * Repair appends R's own ConflictResolved event straight into R's log (own events of every tier go
   * direct), which never runs the applier's reconcileConflicts: R's queue keeps an open record for a
   * conflict resolved everywhere, and a second Repair pass reports nothing to do.
   */
  it("marks the restored region's record resolved once Repair puts its own resolution event back", async () => {
    const { r, p, cells } = await pair();
    const id = uid('resolved');
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
    for (const cell of [r, p])
      expect((await cell.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status)).toEqual([
        'open',
      ]);
    const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
    const resolution = await resolveConflict(
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
    await deliver(p, [resolution]);
    expect((await p.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status)).toEqual([
      'resolved',
    ]);
    await restoreTables(r.db.dynamodb, copy);
    expect((await r.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status)).toEqual(['open']);

    const first = await repair(R, cells, [base.events[0]!.partition]);
    const verifying = await repair(R, cells, [base.events[0]!.partition]);
    const atR = await r.events.loadStream('profile-manual', id);
    expect(atR.map((e) => e.eventId)).toContain(resolution.eventId);
    expect(first.eventsReplayed).toBeGreaterThan(0);
    // The verifying pass finds nothing lacking...
    expect(verifying).toMatchObject({ partitionsDiffering: 0, eventsReplayed: 0, conflictsRecreated: 0 });
    // ...while R's manual queue still offers the operator a conflict already resolved everywhere.
    expect((await r.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status)).toEqual([
      'resolved',
    ]);
  });
});

/**
 * Guarantee 2 (never an event of a retired branch into a log) and 3 (Repair racing a branch retire).
 * C holds the losing branch X2-X3 of an account (a stale writer's), its row folded through X3; the home H
 * holds Y2. A retire of X2-X3 in C (Repair-1's settleForks or Failback) deletes newest first: X3, then X2,
 * then rebuilds the row. Between the two deletes, a second Repair (whose snapshot saw no fork: H's
 * by-partition index lagged, or H was read before Y2) puts X3 into C again from S, which still holds the
 * branch. The applier would park X3 there (the row is ahead of the log); direct delivery checks only the
 * log's seq 2 (X2, still there) and appends it. The retire then deletes X2: C's log is 1, _, X3.
 */
async function retireRacedBy(insert: (c: Cell, x3: EventEnvelope) => Promise<unknown>) {
  const cells: Cell[] = [];
  const h = await makeCell(R, { topology, peers: () => cells });
  const c = await makeCell(P, { topology, peers: () => cells });
  const s = await makeCell(S, { topology, peers: () => cells });
  cells.push(h, c, s);
  const id = uid('retire');
  const exec = (cell: Cell, command: object) =>
    cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
  const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
  await deliver(c, opened);
  await deliver(s, opened);
  // The losing branch: written at S (a stale home), replicated to C.
  const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
  const x3 = (await exec(s, { type: 'Deposit', payload: { amount: 3 } })).events;
  await deliver(c, [...x2, ...x3]);
  // The winning branch at the home.
  const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
  expect((await c.states.getState('account', id))?.seq).toBe(3);

  let raced = false;
  await retireRacing(c, cells, { losing: [...x2, ...x3], winning: [...opened, ...y2] }, async () => {
    raced = true;
    await insert(c, x3[0]!);
  });
  const afterRetire = (await c.events.loadStream('account', id)).map((e) => e.eventId);
  // The home's acknowledged Y2, then its next write Y3, reach C through its applier.
  await deliver(c, y2);
  const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
  await deliver(c, y3);
  const atC = (await c.events.loadStream('account', id)).map((e) => e.eventId);
  return { raced, afterRetire, atC, x3: x3[0]!.eventId, y: [...y2, ...y3].map((e) => e.eventId), c };
}

describe('review: direct delivery racing a branch retire', () => {
  it('control: the applier, racing the same retire, parks the retired event and the home branch lands whole', async () => {
    const run = await retireRacedBy((c, x3) => c.apply(structuredClone(x3)));
    expect(run.raced).toBe(true);
    expect(run.afterRetire).not.toContain(run.x3);
    expect(run.atC).toEqual(expect.arrayContaining(run.y));
  });

  it("never puts a retired branch's event back into a log (the home's Y2-Y3 then land whole at C)", async () => {
    const run = await retireRacedBy((c, x3) => deliverDirectly(regionCell(c), [x3], registry));
    expect(run.raced).toBe(true);
    // On i17-drill: C's log ends as 1, Y2, X3 (two branches joined in one log) and the home's
    // acknowledged Y3 is quarantined at C as a fencing violation until a later Repair settles the fork.
    expect({ atC: run.atC, quarantined: await run.c.quarantine.count() }).toEqual({
      atC: expect.arrayContaining(run.y),
      quarantined: 0,
    });
    expect(run.afterRetire).not.toContain(run.x3);
  });
});

/**
 * Guarantee 5 (no duplicated record). A fork of an account: C holds a stale writer's X2-X3, the home A
 * holds A2. Repair (after T) retires X2-X3 into every queue, each paired with A2 (the home had no seq 3:
 * counterpart = the fork's seq). The home then writes A3. C is restored to T: its log holds X2-X3 again,
 * its queue none of the records. Repair recreates the two records in C and settles the fork again, now
 * pairing X3 with A3: a second open record for the same retired X3, in every region.
 */
describe('review: a restored region re-settling a fork it had lost', () => {
  it('keeps one open record per retired event in every region', async () => {
    const { branchWorld, runRepair, A: a, B: b, C: c } = await import('./branch-cells.ts');
    const world = await branchWorld(b);
    const { id, partition } = await world.account('dup', a);
    const opened = await world.write(a, id, {
      type: 'OpenAccount',
      payload: { owner: 'o', currency: 'EUR' },
    });
    await world.deliver(b, opened);
    await world.deliver(c, opened);
    const cellC = world.cells[c]!;
    const stale = async (amount: number) =>
      (
        await cellC.execute({
          aggregateType: 'account',
          aggregateId: id,
          command: { type: 'Deposit', payload: { amount } },
        } as never)
      ).events;
    const x = [...(await stale(2)), ...(await stale(3))];
    const a2 = await world.write(a, id, { type: 'Deposit', payload: { amount: 20 } });
    await world.deliver(b, a2);
    const copy = await copyTables(cellC.db.dynamodb, { region: c, env: cellC.db.env });
    await runRepair(world, { partitions: [partition] });
    const openAt = async (region: string) =>
      (await world.cells[region]!.conflicts.listForAggregate('account', id)).filter(
        (r) => r.status === 'open',
      );
    for (const region of [a, b, c]) expect((await openAt(region)).length).toBe(2);
    const a3 = await world.write(a, id, { type: 'Deposit', payload: { amount: 30 } });
    await world.deliver(b, a3);
    await world.deliver(c, a3);
    await restoreTables(cellC.db.dynamodb, copy);
    expect((await cellC.events.loadStream('account', id)).map((e) => e.eventId)).toEqual(
      expect.arrayContaining(x.map((e) => e.eventId)),
    );
    await runRepair(world, { partitions: [partition] });
    const perRegion: Record<string, string[][]> = {};
    for (const region of [a, b, c]) perRegion[region] = (await openAt(region)).map((r) => [...r.eventIds]);
    // One open record per retired event (X2 and X3), in every region.
    const counts = Object.fromEntries(Object.entries(perRegion).map(([r, l]) => [r, l.length]));
    expect(counts).toEqual({ [a]: 2, [b]: 2, [c]: 2 });
  });
});

/**
 * Verifying pass blind spot (guarantee 4). At T the restored region's publisher held an event it had not
 * yet put on the bus (a throttled batch): a publish hold in its replication table. The event was published
 * after T (every peer holds it) and the hold released. The restore brings the hold back; the new stream
 * holds none of the restored items, so nothing publishes that event again and the hold is never released:
 * every heartbeat of the region carries it (`unpublishedFrom`) and every peer's watermark from the region
 * stays below it for good (lag grows, the sync breaker opens). Repair, and its verifying pass, never look.
 */
describe('review: a publish hold restored with the tables', () => {
  it('leaves no hold for an event every peer already holds once Repair and its verifying pass are done', async () => {
    const { DynamoPublishHolds } = await import('../../../lib/replication/index.ts');
    const { r, p, cells } = await pair();
    const id = uid('hold');
    const { events } = await r.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
    } as never);
    const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
    await holds.hold([{ id: events[0]!.eventId, hlc: events[0]!.hlc }]);
    const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
    // Published after T: the peer applies it, the publisher releases the hold.
    await deliver(p, events);
    await holds.release([events[0]!.eventId]);
    await restoreTables(r.db.dynamodb, copy);
    await repair(R, cells, [events[0]!.partition]);
    const verifying = await repair(R, cells, [events[0]!.partition]);
    expect(verifying).toMatchObject({ partitionsDiffering: 0, eventsReplayed: 0 });
    expect(await holds.oldest()).toBeUndefined();
  });
});
