import { describe, expect, it } from 'vitest';
import type { BranchRetirer } from '../../../lib/commands/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { healPartition, type RegionCell } from '../../../lib/runbooks/index.ts';
import type { QuorumOrphanRule } from '../../../lib/runbooks/quorum-orphans.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { tableCell } from './runbook-cells.ts';

const topology = testTopology({ core: { ack: 'quorum' } });
const registry = createRegistry(testAggregates, topology);
const HOME = 'us-east-1';

function ruleWith(options: Partial<QuorumOrphanRule> = {}): QuorumOrphanRule {
  return {
    isCore: (type) => type === 'account',
    aggregate: (type) => registry.get(type),
    homeOf: async () => HOME,
    // Two minutes later: the copies are past the in-flight guard.
    now: () => Date.now() + 120_000,
    ...options,
  };
}

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

const command = (type: string, payload: Record<string, unknown>) => ({ type, payload });

/**
 * The home (east) opened an account, replicated to west; west also holds a deposit the home's log lacks:
 * a copy from a home since failed over that no collection brought back. `homeWrote` makes the home
 * write another deposit at that seq first (the copy is then on a losing branch).
 */
async function orphanAtWest(id: string, homeWrote: boolean) {
  const cells: Cell[] = [];
  const scratch = await makeCell(HOME, { topology });
  const east = await makeCell(HOME, { topology, peers: () => cells });
  const west = await makeCell('eu-west-1', { topology, peers: () => cells });
  cells.push(east, west);
  const opened = await east.execute({
    aggregateType: 'account',
    aggregateId: id,
    command: command('OpenAccount', { owner: id, currency: 'EUR' }),
  });
  for (const event of opened.events) {
    await scratch.events.appendEvents([event], { tier: 'core' });
    await west.apply(structuredClone(event));
  }
  await scratch.states.putState(opened.record);
  const deposit = { aggregateType: 'account', aggregateId: id, command: command('Deposit', { amount: 5 }) };
  const orphan = (await scratch.execute(deposit)).events[0]!;
  await west.events.appendEvents([orphan], { tier: 'core' });
  const kept = homeWrote
    ? (await east.execute({ ...deposit, command: command('Deposit', { amount: 8 }) })).events[0]
    : undefined;
  return { east, west, orphan, kept };
}

const seqs = async (cell: Cell, id: string) =>
  (await cell.events.loadStream('account', id)).map((e) => e.eventId);

describe("Repair under core.ack 'quorum': orphans are adopted or retired, never deleted", () => {
  it('adopts into the home an orphan that extends its log, and the regions converge on it', async () => {
    const id = `qo-adopt-${Date.now().toString(36)}`;
    const { east, west, orphan } = await orphanAtWest(id, false);
    await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: ruleWith(),
    });
    expect(await seqs(east, id)).toEqual(await seqs(west, id));
    expect((await seqs(east, id)).at(-1)).toBe(orphan.eventId);
    expect(JSON.parse((await east.states.getState('account', id))!.state)).toMatchObject({ balance: 5 });
  });

  it('leaves a young orphan where it is: it may be a write still in flight', async () => {
    const id = `qo-young-${Date.now().toString(36)}`;
    const { east, west, orphan } = await orphanAtWest(id, false);
    const report = await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: ruleWith({ now: Date.now }),
    });
    expect(report.replayed).toEqual({});
    expect(await seqs(east, id)).toHaveLength(1);
    expect((await seqs(west, id)).at(-1)).toBe(orphan.eventId);
  });

  it("hands an orphan on a losing branch to the chain module's retirer, and deletes nothing", async () => {
    const id = `qo-fork-${Date.now().toString(36)}`;
    const { east, west, orphan, kept } = await orphanAtWest(id, true);
    const retired: Array<{ region: string; losing: string[]; kept: string | undefined }> = [];
    const retire =
      (cell: RegionCell): BranchRetirer =>
      async (input) => {
        retired.push({
          region: cell.region,
          losing: input.losing.map((e: EventEnvelope) => e.eventId),
          kept: input.winning.find((e) => e.seq === input.losing[0]!.seq)?.eventId,
        });
      };
    await healPartition({
      partition: orphan.partition,
      cells: [cellOf(east), cellOf(west)],
      quorumOrphans: ruleWith({ retire }),
    });
    expect(retired).toEqual([{ region: 'eu-west-1', losing: [orphan.eventId], kept: kept!.eventId }]);
    expect(await seqs(east, id)).not.toContain(orphan.eventId);
    expect(await seqs(west, id)).toContain(orphan.eventId);
  });

  it('retires an orphan on a losing branch into the conflict queue of every region by default (retireCoreBranch)', async () => {
    const id = `qo-retire-${Date.now().toString(36)}`;
    const { east, west, orphan, kept } = await orphanAtWest(id, true);
    const cells = [cellOf(east), cellOf(west)];
    await healPartition({ partition: orphan.partition, cells, quorumOrphans: ruleWith() });
    // Out of west's log, but queued with its envelope in both regions, paired with the home's event.
    expect(await seqs(west, id)).not.toContain(orphan.eventId);
    for (const cell of cells) {
      const records = await cell.conflicts.listForAggregate('account', id);
      expect(records).toEqual([
        expect.objectContaining({
          kind: 'core-branch',
          eventIds: [orphan.eventId, kept!.eventId].sort(),
          versions: expect.objectContaining({ orphan: expect.objectContaining({ eventId: orphan.eventId }) }),
        }),
      ]);
    }
  });
});
