import { describe, expect, it } from 'vitest';
import { account } from '../../../examples/bank/index.ts';
import { retireCoreBranch } from '../../../lib/commands/retire-branch.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { type Cell, makeCell, testTopology } from '../replication/cells.ts';

// Third adversarial review of i17-drill (the atomic branch retire, 9361eff..cdf80f3). Each `it` states the
// guarantee it attacks; a failure here is a finding (see the review report), not a flaky test.

const R = 'us-east-1';
const P = 'eu-west-1';
const S = 'ap-southeast-1';
const topology = testTopology();
const uid = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

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

const cellOf = (c: Cell) => ({
  region: c.region,
  events: c.events,
  states: c.states,
  tables: { client: c.db.doc, events: c.db.tables.events },
});

const orphansOf = async (c: Cell, id: string) =>
  (await c.conflicts.listForAggregate('account', id)).map(
    (rec) => (rec as unknown as { versions: { orphan: EventEnvelope } }).versions.orphan.eventId,
  );

/**
 * Widening (9361eff + 64fbf71): "an event found on top of the branch is queued and retired with it" took
 * every event above the branch that is not in `winning`, the caller's read of the home's log. The home keeps
 * writing after that read: its newer events are not in `winning`, yet they are of the winning branch (they
 * chain on it). Guarantee: an event the home acknowledged is never retired into the manual queue; only
 * events chaining onto the losing branch (by `prev`) go with it. Switch: `retire-takes-unchained-above`.
 */
async function joinedLogWithHomeWriteAfterRead() {
  const { r: h, p: c, s, cells } = await three();
  const id = uid('widen');
  const exec = (cell: Cell, command: object) =>
    cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
  const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
  await deliver(c, opened);
  await deliver(s, opened);
  const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
  const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
  const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
  // Repair / Failback reads the home's log here: winning = 1, Y2, Y3. The home then acknowledges Y4.
  const winning = [...opened, ...y2, ...y3];
  const y4 = (await exec(h, { type: 'Deposit', payload: { amount: 40 } })).events;
  // C's log joined before the fix: 1, X2, Y3, Y4 (copies).
  await c.events.appendEvents([...x2, ...y3, ...y4], { tier: 'core', received: true });
  const out = await retireCoreBranch({
    cell: cellOf(c),
    queues: cells.map((x) => x.conflicts),
    aggregate: account,
    losing: x2,
    winning,
    reason: 'fork',
  });
  return {
    ids: { x2: x2[0]!.eventId, y4: y4[0]!.eventId, opened: opened[0]!.eventId, y3: y3[0]!.eventId },
    retired: out.retired.map((e) => e.eventId),
    log: (await c.events.loadStream('account', id)).map((e) => e.eventId),
    orphans: await orphansOf(c, id),
  };
}

describe('review 3: the retire takes along only what chains onto its branch', () => {
  it('leaves in place a home event written after the read, above the winning one left on top (a joined log)', async () => {
    const { ids, retired, log, orphans } = await joinedLogWithHomeWriteAfterRead();
    expect({ retired, log, orphans }).toEqual({
      retired: [ids.x2],
      log: [ids.opened, ids.y3, ids.y4],
      orphans: [ids.x2],
    });
  });

  it("with retire-takes-unchained-above, retires the home's acknowledged Y4 and queues it as a loser", async () => {
    const { ids, retired, log, orphans } = await withBug(
      'retire-takes-unchained-above',
      joinedLogWithHomeWriteAfterRead,
    );
    expect(retired).toContain(ids.y4);
    expect(log).not.toContain(ids.y4);
    expect(orphans).toContain(ids.y4);
  });

  // Control: the live applier does not put Y3 on top of X2 (its prev is Y2: parked), so only a log joined
  // before (or any path putting copies by slot) exposes the widening above.
  it('control: the applier parks a home event written after the read, the retire takes X2 alone', async () => {
    const { r: h, p: c, s, cells } = await three();
    const id = uid('widen-live');
    const exec = (cell: Cell, command: object) =>
      cell.execute({ aggregateType: 'account', aggregateId: id, command } as never);
    const opened = (await exec(h, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })).events;
    await deliver(c, opened);
    await deliver(s, opened);
    const x2 = (await exec(s, { type: 'Deposit', payload: { amount: 2 } })).events;
    await deliver(c, x2);
    const y2 = (await exec(h, { type: 'Deposit', payload: { amount: 20 } })).events;
    const winning = [...opened, ...y2];
    // After the read of the home's log, the home acknowledges Y3; C's applier receives it.
    const y3 = (await exec(h, { type: 'Deposit', payload: { amount: 30 } })).events;
    await deliver(c, y3);
    const before = (await c.events.loadStream('account', id)).map((e) => e.eventId);
    const out = await retireCoreBranch({
      cell: cellOf(c),
      queues: cells.map((x) => x.conflicts),
      aggregate: account,
      losing: x2,
      winning,
      reason: 'fork',
    });
    expect({
      before,
      retired: out.retired.map((e) => e.eventId),
      orphans: await orphansOf(c, id),
    }).toEqual({
      before: [opened[0]!.eventId, x2[0]!.eventId],
      retired: [x2[0]!.eventId],
      orphans: [x2[0]!.eventId],
    });
  });
});

/**
 * b5c9b59: the hold of an event retired into the manual queue was released when an OPEN core-branch record
 * carried it (`retiredEvents` read `listOpen` only). Once the operator has resolved that record (the
 * usual next step after Repair reports `eventsQueued`) before the verifying Repair runs, no open record
 * carries the event, no region holds it: the hold was kept for good, every heartbeat of the region carried
 * it, every peer's watermark from the region stopped there. Guarantee: Repair and its verifying pass leave
 * no hold for an event that left every log, whether its record is open or resolved. Switch:
 * `hold-release-reads-open-records-only`.
 */
async function retiredHoldResolvedByOperator() {
  const { DynamoPublishHolds } = await import('../../../lib/replication/index.ts');
  const { branchWorld, runRepair, A: a, B: b, C: c } = await import('./branch-cells.ts');
  const world = await branchWorld(a);
  const { id, partition } = await world.account('resolved-hold', a);
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
  expect(first.eventsQueued).toBeGreaterThan(0);
  // The operator re-applies the lost deposit at the home and resolves the record with that event.
  const fix = await world.write(a, id, { type: 'Deposit', payload: { amount: 2 } });
  await world.deliver(b, fix);
  await world.deliver(c, fix);
  for (const cell of Object.values(world.cells)) {
    for (const rec of await cell.conflicts.listForAggregate('account', id)) {
      const {
        status: _s,
        detectedAt: _d,
        resolvedBy: _r,
        ...pair
      } = rec as typeof rec & {
        resolvedBy: unknown;
      };
      await cell.conflicts.markResolved(
        { ...pair, resolvedBy: fix[0]!.eventId } as never,
        new Date().toISOString(),
      );
    }
  }
  const open = (
    await Promise.all(
      Object.values(world.cells).map((cell) => cell.conflicts.listForAggregate('account', id)),
    )
  )
    .flat()
    .filter((rec) => rec.status !== 'resolved').length;
  const verifying = await runRepair(world, { partitions: [partition] });
  return { open, oldest: await holds.oldest(), kept: verifying.holdsKept, x2 };
}

describe('review 3: the publish hold of a retired event whose record the operator resolved', () => {
  it('is released by the verifying Repair all the same', async () => {
    const { open, oldest, kept } = await retiredHoldResolvedByOperator();
    expect({ open, oldest, kept }).toEqual({ open: 0, oldest: undefined, kept: 0 });
  });

  it('with hold-release-reads-open-records-only, is kept for good and reported kept', async () => {
    const { open, oldest, kept, x2 } = await withBug(
      'hold-release-reads-open-records-only',
      retiredHoldResolvedByOperator,
    );
    expect({ open, oldest, kept }).toEqual({ open: 0, oldest: x2.hlc, kept: 1 });
  });
});
