import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { type ApplyReplicatedEvent, createApplier } from '../../../lib/replication/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from './cells.ts';

// Two applier instances over one region's tables, as two Lambda instances of the applier are: each keeps
// the rows it last saw, and the other one (or a local command) moves them behind its back.
let east: Cell;
let west: Cell;
let other: ApplyReplicatedEvent;

beforeAll(async () => {
  const cells: Cell[] = [];
  east = await makeCell('us-east-1', { peers: () => cells });
  west = await makeCell('eu-west-1', { peers: () => cells });
  cells.push(east, west);
  const topology = testTopology();
  other = createApplier({
    region: 'eu-west-1',
    topology,
    registry: createRegistry(testAggregates, topology),
    clock: west.clock,
    events: west.events,
    states: west.states,
    watermarks: west.watermarks,
    parking: west.parking,
    quarantine: west.quarantine,
    conflicts: west.conflicts,
  });
});

let counter = 0;
const uid = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

async function row(cell: Cell, type: string, id: string) {
  const record = await cell.states.getState(type, id);
  if (!record) return undefined;
  const { updatedAt: _u, ...rest } = record;
  return { ...rest, state: JSON.parse(rest.state) };
}

const one = async (result: Promise<{ events: EventEnvelope[] }>) => (await result).events[0]!;

describe('appliers whose remembered rows went stale', () => {
  it('core: applies in order, recognises a duplicate and ends identical to the origin', async () => {
    const id = uid('core');
    const run = (type: string, payload: unknown) =>
      one(east.execute({ aggregateType: 'account', aggregateId: id, command: { type, payload } }));
    const e1 = await run('OpenAccount', { owner: 'o', currency: 'EUR' });
    const e2 = await run('Deposit', { amount: 10 });
    const e3 = await run('Deposit', { amount: 5 });
    expect((await west.apply(structuredClone(e1))).status).toBe('applied');
    // The other instance moves the row on; west still remembers the row at seq 1.
    expect((await other(structuredClone(e2))).status).toBe('applied');
    // To west, e2 looks like the next event after the row it remembers: it must still be a duplicate.
    expect((await west.apply(structuredClone(e2))).status).toBe('duplicate');
    expect((await west.apply(structuredClone(e3))).status).toBe('applied');
    expect((await other(structuredClone(e3))).status).toBe('duplicate');
    expect(await row(west, 'account', id)).toEqual(await row(east, 'account', id));
    expect((await west.events.loadStream('account', id)).map((e) => e.eventId)).toEqual(
      [e1, e2, e3].map((e) => e.eventId),
    );
  });

  it('important: a row moved by another applier or a local command is re-read, never overwritten', async () => {
    const id = uid('imp');
    const name = (cell: Cell, displayName: string) =>
      one(
        cell.execute({
          aggregateType: 'profile',
          aggregateId: id,
          command: { type: 'SetDisplayName', payload: { displayName } },
        }),
      );
    const a1 = await name(east, 'a1');
    expect((await west.apply(structuredClone(a1))).status).toBe('applied');
    const a2 = await name(east, 'a2');
    expect((await other(structuredClone(a2))).status).toBe('applied');
    const a3 = await name(east, 'a3');
    expect((await west.apply(structuredClone(a3))).status).toBe('applied');
    expect((await row(west, 'profile', id))?.version).toBe(3);
    // A local write in west moves the row again; the next replicated event must fold on top of it.
    const local = await name(west, 'west');
    await east.apply(structuredClone(local));
    const a4 = await name(east, 'a4');
    expect((await west.apply(structuredClone(a4))).status).toBe('applied');
    expect(await row(west, 'profile', id)).toEqual(await row(east, 'profile', id));
    expect((await row(west, 'profile', id))?.state.displayName).toBe('a4');
    expect((await row(west, 'profile', id))?.version).toBe(5);
  });

  it("retries on the row its refused write found stored (the guard's ALL_OLD), without reading it again", async () => {
    const reads = vi.spyOn(west.states, 'getState');
    try {
      // important: west remembers the row at version 1, the other instance moves it to 2.
      const id = uid('seen');
      const name = (displayName: string) =>
        one(
          east.execute({
            aggregateType: 'profile',
            aggregateId: id,
            command: { type: 'SetDisplayName', payload: { displayName } },
          }),
        );
      const b1 = await name('b1');
      expect((await west.apply(structuredClone(b1))).status).toBe('applied');
      expect((await other(structuredClone(await name('b2')))).status).toBe('applied');
      const b3 = await name('b3');
      reads.mockClear();
      expect((await west.apply(structuredClone(b3))).status).toBe('applied');
      expect(reads).not.toHaveBeenCalled();
      expect(await row(west, 'profile', id)).toEqual(await row(east, 'profile', id));
      expect((await row(west, 'profile', id))?.version).toBe(3);

      // core: west remembers seq 1, the other instance applied seq 2; e2 again at west is a duplicate,
      // decided on the row the refused in-order append returned.
      const acct = uid('seen-core');
      const run = (type: string, payload: unknown) =>
        one(east.execute({ aggregateType: 'account', aggregateId: acct, command: { type, payload } }));
      const e1 = await run('OpenAccount', { owner: 'o', currency: 'EUR' });
      const e2 = await run('Deposit', { amount: 7 });
      expect((await west.apply(structuredClone(e1))).status).toBe('applied');
      expect((await other(structuredClone(e2))).status).toBe('applied');
      reads.mockClear();
      expect((await west.apply(structuredClone(e2))).status).toBe('duplicate');
      expect(reads).not.toHaveBeenCalled();
      expect(await row(west, 'account', acct)).toEqual(await row(east, 'account', acct));
    } finally {
      reads.mockRestore();
    }
  });
});
