import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../../lib/model/index.ts';
import { healPartition, type RegionCell } from '../../../lib/runbooks/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { tableCell } from './runbook-cells.ts';

const topology = testTopology({ core: { ack: 'quorum' } });
const registry = createRegistry(testAggregates, topology);
const rule = {
  isCore: (type: string) => type === 'account',
  aggregate: (type: string) => registry.get(type),
};

function cellOf(cell: Cell): RegionCell {
  return tableCell({
    region: cell.region,
    tables: cell.db,
    events: cell.events,
    states: cell.states,
    replay: async (events) => {
      for (const event of events) await cell.apply(structuredClone(event));
    },
  });
}

/** East opened an account (replicated); its deposit reached west only as a quorum copy, never east's log. */
async function orphanAtWest(id: string, westFolds: boolean) {
  const cells: Cell[] = [];
  const scratch = await makeCell('us-east-1', { topology });
  const east = await makeCell('us-east-1', { topology, peers: () => cells });
  const west = await makeCell('eu-west-1', { topology, peers: () => cells });
  cells.push(east, west);
  const opened = await scratch.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } },
  });
  const orphan = (
    await scratch.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'Deposit', payload: { amount: 5 } },
    })
  ).events[0]!;
  // East is the origin: its own append and row, as its API wrote them.
  await east.events.appendEvents(opened.events, { tier: 'core' });
  await east.states.putState(opened.record);
  for (const event of opened.events) await west.apply(structuredClone(event));
  if (westFolds) await west.apply(structuredClone(orphan));
  else await west.events.appendEvents([orphan], { tier: 'core' });
  return { east, west, orphan };
}

describe("repair under core.ack 'quorum'", () => {
  it('deletes an unacknowledged copy that its origin lacks instead of replaying it into the origin', async () => {
    const id = `qo-${Date.now().toString(36)}`;
    const { east, west, orphan } = await orphanAtWest(id, false);
    const report = await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: rule,
    });
    expect(report.replayed).toEqual({});
    expect((await east.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1]);
    expect((await west.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1]);
    const again = await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: rule,
    });
    expect(again.bucketsDiffering).toBe(0);
  });

  it('adopts a copy a holder has built on (folded into its row) like any event', async () => {
    const id = `qa-${Date.now().toString(36)}`;
    const { east, west, orphan } = await orphanAtWest(id, true);
    const report = await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: rule,
    });
    expect(report.replayed).toEqual({ 'us-east-1': 1 });
    expect((await east.states.getState('account', id))?.seq).toBe(2);
    expect((await west.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2]);
  });
});
