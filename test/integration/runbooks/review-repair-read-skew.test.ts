import { describe, expect, it } from 'vitest';
import { policyFor } from '../../../lib/conflict/index.ts';
import { materialize } from '../../../lib/conflict/materialize.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import type { BranchRules } from '../../../lib/runbooks/index.ts';
import type { EventStore, StateStore } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { A, B, C, regionCell } from './branch-cells.ts';

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
  it('keeps a live applier write that lands after the log read and before the row read', async () => {
    const topology = testTopology();
    const registry = createRegistry(testAggregates, topology);
    const list: Cell[] = [];
    for (const name of [A, B, C]) list.push(await makeCell(name, { topology, peers: () => list }));
    const [a, b, c] = list as [Cell, Cell, Cell];
    const branches: BranchRules = {
      aggregate: (type) => registry.get(type),
      registry,
      policy: (aggregate) => policyFor(aggregate, topology),
      ownerOf: async () => ({ home: undefined }),
    };
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

    let logRead!: () => void;
    const logDone = new Promise<void>((resolve) => {
      logRead = resolve;
    });
    let logHooked = false;
    let rowHooked = false;
    const events = Object.create(c.events, {
      loadStream: {
        value: async (...args: Parameters<EventStore['loadStream']>) => {
          const log = await c.events.loadStream(...args);
          if (!logHooked && args[1] === id) {
            logHooked = true;
            logRead();
          }
          return log;
        },
      },
    }) as EventStore;
    const states = Object.create(c.states, {
      getState: {
        value: async (...args: Parameters<StateStore['getState']>) => {
          if (!rowHooked && args[1] === id) {
            rowHooked = true;
            // The log has been read; the live write lands; then the row is read (it carries the write).
            await logDone;
            expect((await c.apply(structuredClone(live!))).status).toBe('applied');
          }
          return c.states.getState(...args);
        },
      },
    }) as StateStore;

    await deliverBatched(
      { ...regionCell(c), events, states },
      missed.map((e) => structuredClone(e)),
      branches,
    );

    expect(rowHooked && logHooked).toBe(true);
    const log = await c.events.loadStream('profile', id);
    expect(log.map((e) => e.eventId).sort()).toEqual([...missed, live!].map((e) => e.eventId).sort());
    const row = await c.states.getState('profile', id);
    const folded = materialize({
      aggregate: registry.get('profile'),
      aggregateId: id,
      policy: 'lww',
      events: log,
    });
    // The live write's email is in the log; the row must hold it.
    expect(JSON.parse(row!.state).email).toBe('live@example.com');
    expect(row?.version).toBe(folded.record.version);
    expect(row?.state).toBe(folded.record.state);
  }, 60_000);
});
