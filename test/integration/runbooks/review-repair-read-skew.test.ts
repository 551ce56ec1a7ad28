import { describe, expect, it } from 'vitest';
import { materialize } from '../../../lib/conflict/materialize.ts';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import type { EventStore, StateStore } from '../../../lib/store/index.ts';
import type { Cell } from '../replication/cells.ts';
import { A, B, batchedWorld, C, regionCell } from './branch-cells.ts';

/** C's stores with the interleaving forced: C's log of `id` is read, then `live` is applied, then the row is read. */
function skewed(c: Cell, id: string, live: EventEnvelope) {
  let logRead!: () => void;
  const logDone = new Promise<void>((resolve) => {
    logRead = resolve;
  });
  const flags = { called: false, log: false, row: false };
  const events = Object.create(c.events, {
    loadStream: {
      value: async (...args: Parameters<EventStore['loadStream']>) => {
        if (args[1] === id) flags.called = true;
        const log = await c.events.loadStream(...args);
        if (!flags.log && args[1] === id) {
          flags.log = true;
          logRead();
        }
        return log;
      },
    },
  }) as EventStore;
  const states = Object.create(c.states, {
    getState: {
      value: async (...args: Parameters<StateStore['getState']>) => {
        if (!flags.row && args[1] === id) {
          flags.row = true;
          // Read concurrently (the log read already issued): wait for it. Read after the row (a reader
          // that orders its reads): nothing to wait for, the live write simply lands before both.
          await null;
          if (flags.called) await logDone;
          expect((await c.apply(structuredClone(live))).status).toBe('applied');
        }
        return c.states.getState(...args);
      },
    },
  }) as StateStore;
  return { events, states, flags };
}

async function world() {
  const { registry, cells: list, branches } = await batchedWorld([A, B, C]);
  const [a, b, c] = list as [Cell, Cell, Cell];
  return { a, b, c, branches, registry };
}

/**
 * Guarantee attacked: the row equals the fold of the log; a live write (applier or command) that races
 * Repair's batched write is never lost from the row. The batched materialized path reads the row and the
 * log concurrently (Promise.all) and guards its transaction on the row AS READ, but materialises the new
 * row from the LOG as read. When the log read completes first and a live write (event + row, one
 * transaction) lands before the row read, the row read already carries the live write, so the guard
 * passes, and the row Repair writes — materialised from a log without the live event — overwrites it.
 * The README's row-guard test only covers the opposite order (row read, then the live write, then the
 * log read).
 */
describe('review: read skew between the row and the log read by the batched materialized path', () => {
  /** The race of the first test: the row as left, and the fold of C's log. */
  async function liveWriteInSkew() {
    const { a, b, c, branches, registry } = await world();
    const id = `rk${process.pid}${Date.now().toString(36)}`;
    const missed: EventEnvelope[] = [];
    for (let i = 0; i < 3; i++)
      missed.push(
        ...(
          await a.execute({
            aggregateType: 'profile',
            aggregateId: id,
            command: { type: 'SetDisplayName', payload: { displayName: `a${i}` } },
          } as never)
        ).events,
      );
    const [live] = (
      await b.execute({
        aggregateType: 'profile',
        aggregateId: id,
        command: { type: 'SetEmail', payload: { email: 'live@example.com' } },
      } as never)
    ).events;

    const { events, states, flags } = skewed(c, id, live!);

    await deliverBatched(
      { ...regionCell(c), events, states },
      missed.map((e) => structuredClone(e)),
      branches,
    );

    expect(flags.log && flags.row).toBe(true);
    const log = await c.events.loadStream('profile', id);
    expect(log.map((e) => e.eventId).sort()).toEqual([...missed, live!].map((e) => e.eventId).sort());
    const row = await c.states.getState('profile', id);
    const folded = materialize({
      aggregate: registry.get('profile'),
      aggregateId: id,
      policy: 'lww',
      events: log,
    });
    return { row, folded };
  }

  it('keeps a live applier write that lands after the log read and before the row read', async () => {
    const { row, folded } = await liveWriteInSkew();
    // The live write's email is in the log; the row must hold it.
    expect(JSON.parse(row!.state).email).toBe('live@example.com');
    expect(row?.version).toBe(folded.record.version);
    expect(row?.state).toBe(folded.record.state);
  }, 60_000);

  it('finds the broken build: with repair-batch-parallel-reads the live write is lost from the row', async () => {
    const { row, folded } = await withBug('repair-batch-parallel-reads', liveWriteInSkew);
    expect(JSON.parse(folded.record.state).email).toBe('live@example.com');
    expect(JSON.parse(row!.state).email).not.toBe('live@example.com');
    expect(row?.state).not.toBe(folded.record.state);
  }, 60_000);

  /** The race of the manual test: C's log length, its conflict records, and whether its row is frozen. */
  async function manualConflictInSkew() {
    const { a, b, c, branches } = await world();
    const id = `rm${process.pid}${Date.now().toString(36)}`;
    const [missed] = (
      await a.execute({
        aggregateType: 'profile-manual',
        aggregateId: id,
        command: { type: 'SetDisplayName', payload: { displayName: 'from-a' } },
      } as never)
    ).events;
    // Concurrent with A's event (neither has seen the other): under manual, a conflict to open.
    const [live] = (
      await b.execute({
        aggregateType: 'profile-manual',
        aggregateId: id,
        command: { type: 'SetDisplayName', payload: { displayName: 'from-b' } },
      } as never)
    ).events;
    const { events, states, flags } = skewed(c, id, live!);

    const delivered = await deliverBatched(
      { ...regionCell(c), events, states },
      [structuredClone(missed!)],
      branches,
    );
    // What the batch left over goes to the applier, as deliver() would.
    for (const event of delivered.leftover) await c.apply(structuredClone(event));

    expect(flags.log && flags.row).toBe(true);
    return {
      log: (await c.events.loadStream('profile-manual', id)).length,
      records: (await c.conflicts.listForAggregate('profile-manual', id)).map((r) => r.status),
      frozen: (await c.states.getState('profile-manual', id))?.frozen,
    };
  }

  it('detects, as the applier does, the manual conflict between the run and a live write landing in the skew', async () => {
    const { log, records, frozen } = await manualConflictInSkew();
    expect(log).toBe(2);
    expect(records).toEqual(['open']);
    expect(frozen).toBe(true);
  }, 60_000);

  it('finds the broken build: with repair-batch-parallel-reads the manual conflict goes unseen', async () => {
    const { log, records, frozen } = await withBug('repair-batch-parallel-reads', manualConflictInSkew);
    expect(log).toBe(2);
    expect(records).toEqual([]);
    expect(frozen).not.toBe(true);
  }, 60_000);
});
