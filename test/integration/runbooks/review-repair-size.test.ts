import { describe, expect, it } from 'vitest';
import { policyFor } from '../../../lib/conflict/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { deliverBatched } from '../../../lib/runbooks/batched-delivery.ts';
import type { BranchRules } from '../../../lib/runbooks/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { A, C, regionCell } from './branch-cells.ts';

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
  it('delivers 14 important aggregates whose events and rows are ~200 KB each (rows not counted in the group size)', async () => {
    const topology = testTopology();
    const registry = createRegistry(testAggregates, topology);
    const list: Cell[] = [];
    for (const name of [A, C]) list.push(await makeCell(name, { topology, peers: () => list }));
    const [a, c] = list as [Cell, Cell];
    const branches: BranchRules = {
      aggregate: (type) => registry.get(type),
      registry,
      policy: (aggregate) => policyFor(aggregate, topology),
      ownerOf: async () => ({ home: undefined }),
    };
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

    const delivered = await deliverBatched(regionCell(c), big, branches);

    expect(delivered.delivered + delivered.leftover.length).toBe(14);
    for (let i = 0; i < 14; i++) {
      const row = await c.states.getState('profile', `${id}-${i}`);
      expect(row && JSON.parse(row.state).displayName).toBe(`${i}`.padEnd(200_000, 'y'));
    }
  }, 120_000);

  it('delivers small events of 24 aggregates whose rows are ~200 KB (a large state, a small delta)', async () => {
    const topology = testTopology();
    const registry = createRegistry(testAggregates, topology);
    const list: Cell[] = [];
    for (const name of [A, C]) list.push(await makeCell(name, { topology, peers: () => list }));
    const [a, c] = list as [Cell, Cell];
    const branches: BranchRules = {
      aggregate: (type) => registry.get(type),
      registry,
      policy: (aggregate) => policyFor(aggregate, topology),
      ownerOf: async () => ({ home: undefined }),
    };
    const id = `rz${process.pid}${Date.now().toString(36)}`;
    const lacking: EventEnvelope[] = [];
    for (let i = 0; i < 24; i++) {
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

    // 24 events of ~600 bytes (the group's byte count), 24 rows of ~200 KB (uncounted).
    const delivered = await deliverBatched(regionCell(c), lacking, branches);

    expect(delivered.delivered + delivered.leftover.length).toBe(24);
    for (let i = 0; i < 24; i++) {
      const row = await c.states.getState('profile', `${id}-${i}`);
      expect(row && JSON.parse(row.state).email).toBe(`u${i}@example.com`);
    }
  }, 120_000);
});
