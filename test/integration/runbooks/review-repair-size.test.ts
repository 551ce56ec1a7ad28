import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import type { RegionCell } from '../../../lib/runbooks/ports.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import type { Cell } from '../replication/cells.ts';
import { A, batchedWorld, C, regionCell } from './branch-cells.ts';

/**
 * Guarantee attacked: Repair delivers every event the system accepts (an event up to maxEventBytes,
 * 256 KB by default), never failing on the size of what it writes. DynamoDB refuses a TransactWriteItems
 * whose items sum past 4 MB with a ValidationException (not a cancellation), which the batched path
 * rethrows: the partition's Replay fails, and fails again on every redrive (the same events, the same
 * group). The group packs plans by their EVENTS' bytes (<= 3 MB) but each plan also carries its
 * aggregate's re-materialised row, whose state here holds the same ~200 KB: 14 aggregates = 2.8 MB of
 * events + 2.8 MB of rows.
 */
describe('review: a grouped transaction near the 4 MB limit', () => {
  /** 14 peer events of ~200 KB that C lacks (each makes a ~200 KB row); `deliver` runs the batch. */
  async function largeEvents() {
    const { cells: list, branches } = await batchedWorld([A, C]);
    const [a, c] = list as [Cell, Cell];
    const id = `rs${process.pid}${Date.now().toString(36)}`;
    const big: EventEnvelope[] = [];
    for (let i = 0; i < 14; i++) {
      const [event] = (
        await a.execute({
          aggregateType: 'profile',
          aggregateId: `${id}-${i}`,
          command: { type: 'SetDisplayName', payload: { displayName: 'x' } },
        } as never)
      ).events;
      // The event schema takes any string (only the command caps it): a peer's event of ~200 KB.
      big.push({ ...structuredClone(event!), payload: { displayName: `${i}`.padEnd(200_000, 'y') } });
    }

    return { deliver: () => deliverBatched(regionCell(c), big, branches), c, id };
  }

  it('delivers 14 important aggregates whose events and rows are ~200 KB each (rows not counted in the group size)', async () => {
    const { deliver, c, id } = await largeEvents();
    const delivered = await deliver();

    expect(delivered.delivered + delivered.leftover.length).toBe(14);
    for (let i = 0; i < 14; i++) {
      const row = await c.states.getState('profile', `${id}-${i}`);
      expect(row && JSON.parse(row.state).displayName).toBe(`${i}`.padEnd(200_000, 'y'));
    }
  }, 120_000);

  it('finds the broken build: with repair-batch-rows-uncounted the group passes 4 MB and the batch throws', async () => {
    const { deliver } = await largeEvents();
    await expect(withBug('repair-batch-rows-uncounted', deliver)).rejects.toThrow(/4MB|ValidationException/);
  }, 120_000);

  /** 24 small peer events that C lacks, on aggregates whose rows at C are ~200 KB; `deliver` runs the batch. */
  async function largeStates(count = 24) {
    const { cells: list, branches } = await batchedWorld([A, C]);
    const [a, c] = list as [Cell, Cell];
    const id = `rz${process.pid}${Date.now().toString(36)}`;
    const lacking: EventEnvelope[] = [];
    for (let i = 0; i < count; i++) {
      const aggregateId = `${id}-${i}`;
      const [first] = (
        await a.execute({
          aggregateType: 'profile',
          aggregateId,
          command: { type: 'SetDisplayName', payload: { displayName: 'x' } },
        } as never)
      ).events;
      // C holds the first event, whose name makes the state ~200 KB, through its applier.
      const big = { ...structuredClone(first!), payload: { displayName: `${i}`.padEnd(200_000, 'y') } };
      expect((await c.apply(big)).status).toBe('applied');
      const [second] = (
        await a.execute({
          aggregateType: 'profile',
          aggregateId,
          command: { type: 'SetEmail', payload: { email: `u${i}@example.com` } },
        } as never)
      ).events;
      lacking.push(structuredClone(second!));
    }

    return {
      deliver: (cell: RegionCell = regionCell(c)) => deliverBatched(cell, lacking, branches),
      c,
      id,
    };
  }

  it('delivers small events of 24 aggregates whose rows are ~200 KB (a large state, a small delta)', async () => {
    const { deliver, c, id } = await largeStates();
    // 24 events of ~600 bytes (the group's byte count), 24 rows of ~200 KB (uncounted).
    const delivered = await deliver();

    expect(delivered.delivered + delivered.leftover.length).toBe(24);
    for (let i = 0; i < 24; i++) {
      const row = await c.states.getState('profile', `${id}-${i}`);
      expect(row && JSON.parse(row.state).email).toBe(`u${i}@example.com`);
    }
  }, 120_000);

  it('finds the broken build: with repair-batch-rows-uncounted small deltas on large rows pass 4 MB and throw', async () => {
    const { deliver } = await largeStates();
    await expect(withBug('repair-batch-rows-uncounted', deliver)).rejects.toThrow(/4MB|ValidationException/);
  }, 120_000);

  /** C's cell whose grouped transactions DynamoDB refuses as too large (and, with `alone`, every append). */
  function oversized(c: Cell, alone: boolean): RegionCell {
    const tooLarge = () =>
      Object.assign(new Error('Transaction payload size cannot exceed 4MB'), { name: 'ValidationException' });
    const cell = regionCell(c);
    const client = Object.create(cell.tables.client, {
      send: {
        value: async (command: unknown) => {
          if (command instanceof TransactWriteCommand) throw tooLarge();
          return cell.tables.client.send(command as never);
        },
      },
    }) as typeof cell.tables.client;
    const events = Object.create(c.events, {
      appendEvents: {
        value: async (...args: Parameters<EventStore['appendEvents']>) => {
          if (alone) throw tooLarge();
          return c.events.appendEvents(...args);
        },
      },
    }) as EventStore;
    return { ...cell, events, tables: { ...cell.tables, client } };
  }

  it('delivers each aggregate alone when DynamoDB refuses their group as too large', async () => {
    const { deliver, c, id } = await largeStates(3);
    const delivered = await deliver(oversized(c, false));
    expect(delivered).toEqual({ delivered: 3, leftover: [] });
    for (let i = 0; i < 3; i++) {
      const row = await c.states.getState('profile', `${id}-${i}`);
      expect(row && JSON.parse(row.state).email).toBe(`u${i}@example.com`);
    }
  }, 120_000);

  it('leaves to the per-event paths, without throwing, an aggregate too large even alone', async () => {
    const { deliver, c } = await largeStates(3);
    const delivered = await deliver(oversized(c, true));
    expect(delivered.delivered).toBe(0);
    expect(delivered.leftover).toHaveLength(3);
  }, 120_000);

  it('finds the broken build: with repair-batch-rows-uncounted a group refused as too large fails the batch', async () => {
    const { deliver, c } = await largeStates(3);
    await expect(withBug('repair-batch-rows-uncounted', () => deliver(oversized(c, false)))).rejects.toThrow(
      /4MB/,
    );
  }, 120_000);
});
