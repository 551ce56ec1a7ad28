import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { encodeHlc, HybridLogicalClock } from '../../../lib/clock/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { partitionOf } from '../../../lib/ownership/partition.ts';
import { createRunbookDispatcher, type RegionCell, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { regionCell } from './branch-cells.ts';
import { lagging } from './runbook-cells.ts';

// The restored region R (us-east-1) and its peer P (eu-west-1). R's applier runs asynchronously here, as
// on AWS (the bus): what Repair hands it lands only when the test flushes it.
const R = 'us-east-1';
const P = 'eu-west-1';
const topology = testTopology();

interface Restored {
  readonly r: Cell;
  readonly p: Cell;
  /** Repair's tasks from R, the way the Repair machine's Map runs them; its Report. */
  repair(partitions: number[]): Promise<Record<string, unknown>>;
  /** Delivers what Repair handed R's applier. */
  flush(): Promise<void>;
  /** R's cell as Repair sees it (tests may make its by-partition index lag). */
  cellOfR: (cell: RegionCell) => RegionCell;
}

async function restoredPair(): Promise<Restored> {
  const cells: Cell[] = [];
  const r = await makeCell(R, { topology, peers: () => cells });
  const p = await makeCell(P, { topology, peers: () => cells });
  cells.push(r, p);
  const pending: EventEnvelope[] = [];
  const world: Restored = {
    r,
    p,
    cellOfR: (cell) => cell,
    async flush() {
      for (const event of pending.splice(0)) await r.apply(structuredClone(event));
    },
    async repair(partitions) {
      const deps = {
        region: R,
        topology: { ...topology, regions: [{ name: R }, { name: P }] },
        registry: createRegistry(testAggregates, topology),
        cell: (name: string) =>
          name === R
            ? world.cellOfR({ ...regionCell(r), replay: async (events) => void pending.push(...events) })
            : regionCell(p),
        observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
        setTraffic: async () => undefined,
      } as unknown as RunbookDeps;
      const run = createRunbookDispatcher(deps);
      const state: Record<string, unknown> = { partitions };
      state.listPartitions = await run({ runbook: 'repair', task: 'ListPartitions', input: state });
      const items = (state.listPartitions as { partitions: Array<Record<string, unknown>> }).partitions;
      const outputs = [];
      for (const item of items) {
        const it: Record<string, unknown> = { ...item };
        it.buildTrees = await run({ runbook: 'repair', task: 'BuildTrees', input: it });
        it.diff = await run({ runbook: 'repair', task: 'Diff', input: it });
        outputs.push(await run({ runbook: 'repair', task: 'Replay', input: it }));
      }
      state.repairPartitions = outputs;
      return run({ runbook: 'repair', task: 'Report', input: state });
    },
  };
  return world;
}

const open = { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } };
const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

/** A write at `from`, replicated synchronously to `to`; its events. */
async function write(from: Cell, to: Cell, id: string, command: object): Promise<EventEnvelope[]> {
  const { events } = await from.execute({ aggregateType: 'account', aggregateId: id, command } as never);
  for (const event of events) await to.apply(structuredClone(event));
  return events;
}

const seqsAt = async (cell: Cell, id: string) =>
  (await cell.events.loadStream('account', id)).map((e) => e.seq);
const idsAt = async (cell: Cell, id: string) =>
  new Set((await cell.events.loadStream('account', id)).map((e) => e.eventId));

/** Account ids that share one partition (one Replay covers them all). */
function samePartition(prefix: string, count: number): string[] {
  const ids: string[] = [];
  const first = `${prefix}-0`;
  ids.push(first);
  for (let i = 1; ids.length < count; i++)
    if (partitionOf(`${prefix}-${i}`, topology.partitions) === partitionOf(first, topology.partitions))
      ids.push(`${prefix}-${i}`);
  return ids;
}

/**
 * An account written at P (seq 1-5), its home then moved to R (seq 6-8); R restored to seq 3, then
 * Repair from R; then R, the home, takes a write; then R's applier delivers what it was handed.
 * Returns every acknowledged event id, R's log right after Repair, and R's log at the end.
 */
async function homeMovedThenRestored(prefix: string) {
  const world = await restoredPair();
  const { r, p } = world;
  const id = `${prefix}-${Date.now().toString(36)}`;
  const acked = [
    ...(await write(p, r, id, open)),
    ...(await write(p, r, id, deposit(1))),
    ...(await write(p, r, id, deposit(2))),
  ];
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  acked.push(...(await write(p, r, id, deposit(3))), ...(await write(p, r, id, deposit(4))));
  for (let i = 5; i <= 7; i++) acked.push(...(await write(r, p, id, deposit(i))));
  await restoreTables(r.db.dynamodb, copy);
  expect(await seqsAt(r, id)).toEqual([1, 2, 3]);

  const partition = acked[0]!.partition;
  const report = await world.repair([partition]);
  const afterRepair = await seqsAt(r, id);
  const next = await write(r, p, id, deposit(100)).catch(() => []);
  acked.push(...next);
  await world.flush();
  const held = await idsAt(r, id);
  return {
    report,
    afterRepair,
    nextSeq: next[0]?.seq,
    lostAtR: acked.filter((e) => !held.has(e.eventId)).map((e) => e.seq),
    quarantined: await r.quarantine.count(),
  };
}

describe('Repair after a point-in-time restore: core aggregates', () => {
  it("puts every lacking event of a core aggregate (the peer's and its own) into the restored region's log in seq order, so its next home write takes the next seq and no acknowledged write is lost", async () => {
    const run = await homeMovedThenRestored('moved');
    // No gap when Repair returns: the peer's 4-5 went in directly too, before the region's own 6-8.
    expect(run.afterRepair).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.report).toMatchObject({ eventsReplayed: 5, eventsRefused: 0 });
    expect(run.nextSeq).toBe(9);
    expect(run.lostAtR).toEqual([]);
    expect(run.quarantined).toBe(0);
  });

  it("finds the broken build: with repair-async-core-replay the peer's events reach the restored region later, its home write takes seq 4 and the peer's acknowledged 4-5 are lost", async () => {
    const run = await withBug('repair-async-core-replay', () => homeMovedThenRestored('moved-bug'));
    expect(run.afterRepair).not.toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(run.nextSeq).toBe(4);
    expect(run.lostAtR).toEqual(expect.arrayContaining([4, 5]));
  });
});

/**
 * Two accounts of one partition, both lacking events at R after its restore; R then took a write on the
 * first (its slot 2) that R's by-partition index does not show yet (a GSI lags), so Repair sees no fork
 * and finds the slot taken when it appends P's seq 2 there. Returns Repair's report, or its error.
 */
async function slotTakenDuringRepair(prefix: string) {
  const world = await restoredPair();
  const { r, p } = world;
  const [taken, other] = samePartition(`${prefix}-${Date.now().toString(36)}`, 2) as [string, string];
  for (const id of [taken, other]) await write(p, r, id, open);
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  for (const id of [taken, other]) await write(p, r, id, deposit(1));
  await restoreTables(r.db.dynamodb, copy);
  const early = (
    await r.execute({ aggregateType: 'account', aggregateId: taken, command: deposit(9) } as never)
  ).events;
  world.cellOfR = (cell) => ({ ...cell, source: lagging(cell.source, new Set(early.map((e) => e.eventId))) });
  const partition = partitionOf(taken, topology.partitions);
  const outcome = await world.repair([partition]).then(
    (report) => ({ report }),
    (error: unknown) => ({ error }),
  );
  return { outcome, otherAtR: await seqsAt(r, other) };
}

describe('Repair after a point-in-time restore: a slot already taken', () => {
  it('reports the event whose slot is taken, with its reason, and still repairs the other aggregates of the partition', async () => {
    const { outcome, otherAtR } = await slotTakenDuringRepair('slot');
    expect('report' in outcome).toBe(true);
    const report = (outcome as { report: Record<string, unknown> }).report;
    expect(report.eventsRefused).toBe(1);
    expect(report.refusedEvents).toEqual([
      expect.objectContaining({ region: R, seq: 2, reason: 'slot-taken' }),
    ]);
    expect(otherAtR).toEqual([1, 2]);
  });

  it('finds the broken build: with repair-aborts-on-taken-slot the ConcurrencyError aborts the whole Replay', async () => {
    const { outcome } = await withBug('repair-aborts-on-taken-slot', () => slotTakenDuringRepair('slot-bug'));
    expect('error' in outcome && (outcome.error as Error).name).toBe('ConcurrencyError');
  });
});

/**
 * R restored to an account's seq 1 and a profile's first event; P's log then holds two events that claim
 * R as origin and fail the applier's checks (a corruption, planted straight into P's table): a profile
 * event whose HLC was issued by P, and an account seq 2 whose `prev` is not seq 1's HLC.
 */
async function forgedOwnEvents(prefix: string) {
  const world = await restoredPair();
  const { r, p } = world;
  const id = `${prefix}-${Date.now().toString(36)}`;
  const [opened] = await write(p, r, id, open);
  const { events: named } = await r.execute({
    aggregateType: 'profile',
    aggregateId: id,
    command: { type: 'SetDisplayName', payload: { displayName: 'before' } },
  } as never);
  for (const event of named) await p.apply(structuredClone(event));
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  await restoreTables(r.db.dynamodb, copy);
  const pClock = new HybridLogicalClock({ region: P });
  const rClock = new HybridLogicalClock({ region: R });
  const forgedHlc: EventEnvelope = {
    ...named[0]!,
    eventId: ulid(),
    hlc: encodeHlc(pClock.now()),
    payload: { displayName: 'forged' },
  };
  const unchained: EventEnvelope = {
    ...opened!,
    eventId: ulid(),
    type: 'Deposited',
    payload: { amount: 5 },
    seq: 2,
    origin: R,
    hlc: encodeHlc(rClock.now()),
    prev: encodeHlc(rClock.now()),
  };
  await p.events.appendEvents([forgedHlc], { tier: 'important' });
  await p.events.appendEvents([unchained], { tier: 'core' });
  // One id: the account and the profile share its partition.
  const report = await world.repair([opened!.partition]);
  const atR = new Set([
    ...(await idsAt(r, id)),
    ...(await r.events.loadStream('profile', id)).map((e) => e.eventId),
  ]);
  return { report, atR, forged: [forgedHlc.eventId, unchained.eventId] };
}

describe("Repair after a point-in-time restore: the region's own events pass the applier's checks", () => {
  it('refuses an own event whose HLC another region issued, and an own core event that does not extend the log, and reports both', async () => {
    const { report, atR, forged } = await forgedOwnEvents('forged');
    for (const eventId of forged) expect(atR.has(eventId)).toBe(false);
    expect(report.eventsRefused).toBe(2);
    // One Map item (one partition): it lists its first refused event and the distinct reasons of all.
    expect(report.refusedReasons).toEqual(['ForgedOrigin', 'not-chained']);
    const listed = (report.refusedEvents as Array<{ eventId: string }>).map((e) => e.eventId);
    expect(listed).toHaveLength(1);
    expect(forged).toContain(listed[0]);
  });

  it('finds the broken build: with repair-unchecked-own-events both go into the restored log', async () => {
    const { report, atR, forged } = await withBug('repair-unchecked-own-events', () =>
      forgedOwnEvents('forged-bug'),
    );
    for (const eventId of forged) expect(atR.has(eventId)).toBe(true);
    expect(report.eventsRefused).toBe(0);
  });
});

/**
 * After T, both regions queued a retired core orphan (as retireCoreBranch does in every region it is
 * given): an open conflict record no log holds any more. R is then restored to T and repaired.
 */
async function queuedAfterT(prefix: string) {
  const world = await restoredPair();
  const { r, p } = world;
  const id = `${prefix}-${Date.now().toString(36)}`;
  const [opened] = await write(p, r, id, open);
  const copy = await copyTables(r.db.dynamodb, { region: R, env: r.db.env });
  const clock = new HybridLogicalClock({ region: R });
  const pair = {
    aggregateType: 'account',
    aggregateId: id,
    eventIds: [ulid(), ulid()].sort() as [string, string],
    hlcs: [encodeHlc(clock.now()), encodeHlc(clock.now())] as [string, string],
    origins: [R, P] as [string, string],
    resolvedBy: null,
  };
  const at = new Date().toISOString();
  for (const cell of [r, p]) await cell.conflicts.createOpen(pair, at);
  await restoreTables(r.db.dynamodb, copy);
  expect(await r.conflicts.countOpen()).toBe(0);
  const report = await world.repair([opened!.partition]);
  return { report, atR: await r.conflicts.listForAggregate('account', id), pair };
}

describe('Repair after a point-in-time restore: the manual conflict queue', () => {
  it('recreates in the restored region the open conflict records its peers hold (a retired core orphan is in no log)', async () => {
    const { report, atR, pair } = await queuedAfterT('queued');
    expect(report.conflictsRecreated).toBe(1);
    expect(atR).toEqual([expect.objectContaining({ eventIds: pair.eventIds, status: 'open' })]);
  });

  it('finds the broken build: with repair-skips-conflict-queue the restored queue stays without it', async () => {
    const { atR } = await withBug('repair-skips-conflict-queue', () => queuedAfterT('queued-bug'));
    expect(atR).toEqual([]);
  });
});
