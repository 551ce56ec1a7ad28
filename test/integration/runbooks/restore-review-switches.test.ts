import { describe, expect, it } from 'vitest';
import { resolveConflict } from '../../../lib/conflict/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { DynamoPublishHolds } from '../../../lib/replication/index.ts';
import { deliverDirectly } from '../../../lib/runbooks/direct-delivery.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { A, B, branchWorld, C, regionCell, repairCells as repair, runRepair } from './branch-cells.ts';
import { retireRacing } from './retire-deletes.ts';

// The guards added for the review of i17-drill (review-drill.test.ts holds the reviewer's tests), each
// with the bug switch that takes it out: the scenario must then fail the way the review found.

const R = 'us-east-1';
const P = 'eu-west-1';
const S = 'ap-southeast-1';
const topology = testTopology();
const registry = createRegistry(testAggregates, topology);
const uid = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

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

/** A manual conflict resolved by R after T, R restored to T, two Repair passes: R's record statuses. */
async function resolvedAfterT(): Promise<string[]> {
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
      state: { displayName: 'x', email: null, preferences: [] },
    },
  );
  await deliver(p, [resolution]);
  await restoreTables(r.db.dynamodb, copy);
  await repair(R, cells, [base.events[0]!.partition]);
  await repair(R, cells, [base.events[0]!.partition]);
  return (await r.conflicts.listForAggregate('profile-manual', id)).map((x) => x.status);
}

/** C's retire of X2-X3 raced, between its two deletes, by a direct delivery of X3; C's log and quarantine after Y2-Y3. */
async function retireRacedByDirectDelivery() {
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
  const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
  const x3 = (await exec(s, { type: 'Deposit', payload: { amount: 3 } })).events;
  await deliver(c, [...x2, ...x3]);
  const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
  let raced: Awaited<ReturnType<typeof deliverDirectly>> | undefined;
  await retireRacing(c, cells, { losing: [...x2, ...x3], winning: [...opened, ...y2] }, async () => {
    raced = await deliverDirectly(regionCell(c), x3, registry);
  });
  await deliver(c, y2);
  await deliver(c, (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events);
  const atC = (await c.events.loadStream('account', id)).map((e) => e.eventId);
  return { raced, atC, x3: x3[0]!.eventId, quarantined: await c.quarantine.count() };
}

/** A fork retired by Repair, C restored to before it, the home writes on, Repair again: open records per region. */
async function forkResettledAfterRestore(): Promise<Record<string, number>> {
  const world = await branchWorld(B);
  const { id, partition } = await world.account('dup', A);
  const opened = await world.write(A, id, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } });
  await world.deliver(B, opened);
  await world.deliver(C, opened);
  const cellC = world.cells[C]!;
  for (const amount of [2, 3])
    await cellC.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'Deposit', payload: { amount } },
    } as never);
  await world.deliver(B, await world.write(A, id, { type: 'Deposit', payload: { amount: 20 } }));
  const copy = await copyTables(cellC.db.dynamodb, { region: C, env: cellC.db.env });
  await runRepair(world, { partitions: [partition] });
  const a3 = await world.write(A, id, { type: 'Deposit', payload: { amount: 30 } });
  await world.deliver(B, a3);
  await world.deliver(C, a3);
  await restoreTables(cellC.db.dynamodb, copy);
  await runRepair(world, { partitions: [partition] });
  const counts: Record<string, number> = {};
  for (const region of [A, B, C])
    counts[region] = (await world.cells[region]!.conflicts.listForAggregate('account', id)).filter(
      (r) => r.status === 'open',
    ).length;
  return counts;
}

/** A publish hold of T whose event every peer applied after T, R restored, two Repair passes: R's oldest hold. */
async function holdRestored() {
  const { r, p, cells } = await pair();
  const { events } = await r.execute({
    aggregateType: 'account',
    aggregateId: uid('hold'),
    command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
  } as never);
  const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
  await holds.hold([{ id: events[0]!.eventId, hlc: events[0]!.hlc }]);
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  await deliver(p, events);
  await holds.release([events[0]!.eventId]);
  await restoreTables(r.db.dynamodb, copy);
  const first = await repair(R, cells, [events[0]!.partition]);
  await repair(R, cells, [events[0]!.partition]);
  return { released: first.holdsReleased, oldest: await holds.oldest() };
}

/** A hold of an event a peer lacks (not yet published anywhere): Repair keeps it. */
async function holdOfUnpublished() {
  const { r, cells } = await pair();
  const { events } = await r.execute({
    aggregateType: 'account',
    aggregateId: uid('unpublished'),
    command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
  } as never);
  const holds = new DynamoPublishHolds({ client: r.db.doc, tableName: r.db.tables.replication });
  const event = events[0]!;
  await holds.hold([{ id: event.eventId, hlc: event.hlc, partition: event.partition }]);
  // Only the tasks before the replay: a full pass would put the event into P, and then the hold may go.
  const deps = {
    region: R,
    topology: { ...topology, regions: cells.map((c) => ({ name: c.region })) },
    registry,
    cell: (name: string) => regionCell(cells.find((c) => c.region === name)!),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
  const listed = await createRunbookDispatcher(deps)({
    runbook: 'repair',
    task: 'ListPartitions',
    input: { partitions: [event.partition] },
  });
  return { released: listed.holdsReleased, oldest: await holds.oldest(), hlc: event.hlc };
}

describe('restore review guards, and the switches that take them out', () => {
  it('direct delivery racing a retire refuses the retired event (atomic retire: not-chained; one delete at a time: row-ahead); with repair-direct-ignores-row too it joins two branches', async () => {
    const atomic = await retireRacedByDirectDelivery();
    expect(atomic.raced?.refused.map((r) => r.reason)).toEqual(['not-chained']);
    expect({ x3In: atomic.atC.includes(atomic.x3), quarantined: atomic.quarantined }).toEqual({
      x3In: false,
      quarantined: 0,
    });
    // The row guard is what stops it while a retire deletes one event at a time (the retire before review 2).
    const guarded = await withBug('retire-one-event-at-a-time', retireRacedByDirectDelivery);
    expect(guarded.raced?.refused.map((r) => r.reason)).toEqual(['row-ahead']);
    expect({ x3In: guarded.atC.includes(guarded.x3), quarantined: guarded.quarantined }).toEqual({
      x3In: false,
      quarantined: 0,
    });
    const broken = await withBug('retire-one-event-at-a-time', () =>
      withBug('repair-direct-ignores-row', retireRacedByDirectDelivery),
    );
    expect(broken.atC).toContain(broken.x3);
    expect(broken.quarantined).toBeGreaterThan(0);
  });

  it("the region's own ConflictResolved put back directly resolves its record (without the queue step); with repair-direct-skips-reconcile too it stays open", async () => {
    expect(await withBug('repair-skips-conflict-queue', resolvedAfterT)).toEqual(['resolved']);
    const broken = await withBug('repair-skips-conflict-queue', () =>
      withBug('repair-direct-skips-reconcile', resolvedAfterT),
    );
    expect(broken).toEqual(['open']);
  });

  it('the queue step alone marks the record resolved where another region holds it resolved', async () => {
    expect(await withBug('repair-direct-skips-reconcile', resolvedAfterT)).toEqual(['resolved']);
  });

  it('a re-settled fork keeps one record per retired event; with retire-pairs-retired-event-again it gets two', async () => {
    expect(await forkResettledAfterRestore()).toEqual({ [A]: 2, [B]: 2, [C]: 2 });
    const broken = await withBug('retire-pairs-retired-event-again', forkResettledAfterRestore);
    expect(broken[C]).toBeGreaterThan(2);
  });

  it('Repair releases a restored hold every peer holds the event of; with repair-keeps-restored-holds it stays', async () => {
    expect(await holdRestored()).toEqual({ released: 1, oldest: undefined });
    const broken = await withBug('repair-keeps-restored-holds', holdRestored);
    expect(broken.oldest).toBeDefined();
  });

  it('Repair keeps the hold of an event some peer lacks', async () => {
    const kept = await holdOfUnpublished();
    expect({ released: kept.released, oldest: kept.oldest }).toEqual({ released: 0, oldest: kept.hlc });
  });
});
