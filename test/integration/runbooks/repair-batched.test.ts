import { describe, expect, it } from 'vitest';
import { materialize } from '../../../lib/conflict/materialize.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import { healPartition } from '../../../lib/runbooks/heal.ts';
import { type RegionCell, repairStageTotals, resetRepairStageTotals } from '../../../lib/runbooks/index.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import type { Cell } from '../replication/cells.ts';
import { A, B, batchedWorld, C, regionCell } from './branch-cells.ts';

/** Three cells with the real applier; the rules Repair settles and rebuilds with (no forks here). */
async function world() {
  const { topology, cells: list, branches } = await batchedWorld([A, B, C]);
  const [a, b, c] = list as [Cell, Cell, Cell];
  return { a, b, c, branches, topology };
}

/** A runbook cell of `cell` that counts the events handed to its applier (the per-event path). */
function counted(cell: Cell): { cell: RegionCell; replayed: EventEnvelope[] } {
  const replayed: EventEnvelope[] = [];
  const base = regionCell(cell);
  return {
    replayed,
    cell: {
      ...base,
      async replay(events) {
        replayed.push(...events);
        await base.replay(events);
      },
    },
  };
}

const run = () => `bt${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** The row a region holds, without the wall-clock field. */
async function rowOf(cell: Cell, type: string, id: string) {
  const row = await cell.states.getState(type, id);
  if (!row) return undefined;
  const { updatedAt: _u, ...rest } = row;
  return rest;
}

const setName = (displayName: string) => ({ type: 'SetDisplayName', payload: { displayName } });

describe("Repair's batched delivery (events by aggregate in transactions, the row re-materialised once)", () => {
  it("puts a region's missed core and important events in without the applier, to the rows and lww records the applier builds", async () => {
    const { a, b, c, branches } = await world();
    const id = run();
    const written: EventEnvelope[] = [];
    const account = await a.execute({
      aggregateType: 'account',
      aggregateId: `${id}-acct`,
      command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
    });
    written.push(...account.events);
    for (let d = 1; d <= 120; d++)
      written.push(
        ...(
          await a.execute({
            aggregateType: 'account',
            aggregateId: `${id}-acct`,
            command: { type: 'Deposit', payload: { amount: d } },
          })
        ).events,
      );
    // Concurrent lww writes of one profile in A and B (neither has seen the other's): conflict pairs.
    for (let i = 0; i < 3; i++) {
      for (const cell of [a, b])
        written.push(
          ...(
            await cell.execute({
              aggregateType: 'profile',
              aggregateId: `${id}-p`,
              command: setName(`${cell.region}-${i}`),
            } as never)
          ).events,
        );
    }
    // A and B exchange through the applier; C missed everything.
    for (const event of written) {
      if (event.origin === A) await b.apply(structuredClone(event));
      else await a.apply(structuredClone(event));
    }
    const target = counted(c);
    const cells = [regionCell(a), regionCell(b), target.cell];
    const partitions = [...new Set(written.map((e) => e.partition))];
    let replayed = 0;
    resetRepairStageTotals();
    for (const partition of partitions) {
      const report = await healPartition({ partition, cells, branches });
      replayed += report.replayed[C] ?? 0;
      expect(report.refused).toEqual([]);
    }

    expect(replayed).toBe(written.length);
    // Neither per-event path ran: no applier replay, no direct delivery (the core run went in by chunks).
    expect(target.replayed).toEqual([]);
    expect(repairStageTotals().directDelivery.calls).toBe(0);
    expect(repairStageTotals().batchedWrite.calls).toBeGreaterThan(0);
    for (const [type, aggregateId] of [
      ['account', `${id}-acct`],
      ['profile', `${id}-p`],
    ] as const) {
      expect(await rowOf(c, type, aggregateId)).toEqual(await rowOf(a, type, aggregateId));
      expect(await rowOf(c, type, aggregateId)).toEqual(await rowOf(b, type, aggregateId));
      const ids = async (cell: Cell) =>
        (await cell.events.loadStream(type, aggregateId)).map((e) => e.eventId).sort();
      expect(await ids(c)).toEqual(await ids(a));
    }
    expect((await c.states.getState('account', `${id}-acct`))?.seq).toBe(121);
    const records = async (cell: Cell) =>
      (await cell.conflicts.listForAggregate('profile', `${id}-p`))
        .map((r) => JSON.stringify([r.eventIds, r.status, r.winner, r.loser, r.detectedAt]))
        .sort();
    expect((await records(c)).length).toBeGreaterThan(0);
    expect(await records(c)).toEqual(await records(a));
    expect(await c.quarantine.count()).toBe(0);
    // Idempotent: a second pass finds nothing.
    for (const partition of partitions)
      expect((await healPartition({ partition, cells, branches })).bucketsDiffering).toBe(0);
  });

  it('leaves a manual-policy run that opens a conflict to the applier, which opens and announces the record', async () => {
    const { a, b, c, branches } = await world();
    const id = `${run()}-m`;
    const written: EventEnvelope[] = [];
    for (const cell of [a, b])
      written.push(
        ...(
          await cell.execute({
            aggregateType: 'profile-manual',
            aggregateId: id,
            command: setName(cell.region),
          } as never)
        ).events,
      );
    const target = counted(c);
    const cells = [regionCell(a), regionCell(b), target.cell];
    await healPartition({ partition: written[0]!.partition, cells, branches });

    expect(target.replayed.map((e) => e.eventId).sort()).toEqual(written.map((e) => e.eventId).sort());
    expect(c.detected.length).toBe(1);
    expect((await c.conflicts.listForAggregate('profile-manual', id)).map((r) => r.status)).toEqual(['open']);
  });

  it('folds into the row what the log holds past the run it delivers (a copy written ahead of the gap it closes)', async () => {
    const { a, c, branches } = await world();
    const id = `${run()}-gap`;
    const log: EventEnvelope[] = [];
    log.push(
      ...(
        await a.execute({
          aggregateType: 'account',
          aggregateId: id,
          command: { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } },
        })
      ).events,
    );
    for (const amount of [5, 7])
      log.push(
        ...(
          await a.execute({
            aggregateType: 'account',
            aggregateId: id,
            command: { type: 'Deposit', payload: { amount } },
          })
        ).events,
      );
    // C applied seq 1 and holds a copy of seq 3 (in its log, not its row); seq 2 is what it lacks.
    await c.apply(structuredClone(log[0]!));
    await c.events.appendEvents([structuredClone(log[2]!)], { tier: 'core', received: true });
    expect((await c.states.getState('account', id))?.seq).toBe(1);

    const delivered = await deliverBatched(regionCell(c), [structuredClone(log[1]!)], branches);

    expect(delivered).toEqual({ delivered: 1, leftover: [] });
    const [row, home] = await Promise.all([c, a].map((x) => rowOf(x, 'account', id)));
    expect(row?.seq).toBe(3);
    expect(row).toEqual(home);
  });

  /**
   * The interleaving the row guard is for: Repair reads C's row and log, a live applier write of a new
   * event lands in C (event and row, one transaction), then Repair's transaction (the missed events and
   * the row it materialised from what it read) commits. Guarded on the row as read, it is refused and
   * Repair reads again; unguarded, its row overwrites the applier's and never folds the live event.
   */
  async function raceLiveWrite() {
    const { a, b, c, branches } = await world();
    const id = `${run()}-race`;
    const missed: EventEnvelope[] = [];
    for (let i = 0; i < 3; i++)
      missed.push(
        ...(
          await a.execute({ aggregateType: 'profile', aggregateId: id, command: setName(`a${i}`) } as never)
        ).events,
      );
    // A second aggregate in the same group: the refused group's other writes go again on their own.
    const other = `${id}-other`;
    const otherEvents = (
      await a.execute({ aggregateType: 'profile', aggregateId: other, command: setName('o') } as never)
    ).events;
    const live = (
      await b.execute({ aggregateType: 'profile', aggregateId: id, command: setName('live') } as never)
    ).events;
    for (const event of missed) await b.apply(structuredClone(event));
    await a.apply(structuredClone(live[0]!));
    const base = regionCell(c);
    let fired = false;
    const events = Object.create(c.events, {
      loadStream: {
        value: async (...args: Parameters<EventStore['loadStream']>) => {
          const log = await c.events.loadStream(...args);
          if (!fired && args[1] === id) {
            fired = true;
            // The live write lands after Repair read the row and the log.
            expect((await c.apply(structuredClone(live[0]!))).status).toBe('applied');
          }
          return log;
        },
      },
    }) as EventStore;
    // The batched delivery alone: Repair's row rebuild after it would mask a lost row in this pass.
    const delivered = await deliverBatched({ ...base, events }, [...missed, ...otherEvents], branches);
    expect(delivered).toEqual({ delivered: 4, leftover: [] });
    expect((await c.states.getState('profile', other))?.state).toBe(
      (await a.states.getState('profile', other))?.state,
    );
    const log = await c.events.loadStream('profile', id);
    const row = await c.states.getState('profile', id);
    const folded = materialize({
      aggregate: branches.aggregate('profile'),
      aggregateId: id,
      policy: 'lww',
      events: log,
    });
    return { fired, log, row, folded: folded.record, all: [...missed, ...live] };
  }

  it('keeps a live applier write that lands between its read and its transaction (the row guard)', async () => {
    const { fired, log, row, folded, all } = await raceLiveWrite();
    expect(fired).toBe(true);
    expect(log.map((e) => e.eventId).sort()).toEqual(all.map((e) => e.eventId).sort());
    expect(row?.version).toBe(4);
    expect(row?.state).toBe(folded.state);
    expect(row?.head).toBe(folded.head);
  });

  it('finds the broken build: with repair-batch-unguarded-row the live write is lost from the row', async () => {
    const { fired, log, row, folded } = await withBug('repair-batch-unguarded-row', raceLiveWrite);
    expect(fired).toBe(true);
    expect(log).toHaveLength(4);
    expect(row?.version).toBe(3);
    expect(row?.state).not.toBe(folded.state);
  });
});
