import { beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { tableCell } from './runbook-cells.ts';

let east: Cell;
let west: Cell;
const topology = testTopology();

beforeAll(async () => {
  const cells: Cell[] = [];
  east = await makeCell('us-east-1', { topology, peers: () => cells });
  west = await makeCell('eu-west-1', { topology, peers: () => cells });
  cells.push(east, west);
});

async function deliver(to: Cell, events: readonly EventEnvelope[]) {
  for (const event of events) await to.apply(structuredClone(event));
}

const setName = (cell: Cell, id: string, displayName: string) =>
  cell.execute({
    aggregateType: 'profile-manual',
    aggregateId: id,
    command: { type: 'SetDisplayName', payload: { displayName } },
  });

/** A manual conflict on a fresh aggregate: `east` and `west` renamed it concurrently, both delivered. */
async function conflicted(prefix: string) {
  const id = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const base = await setName(east, id, 'base');
  await deliver(west, base.events);
  const a = await setName(east, id, 'east');
  const b = await setName(west, id, 'west');
  await deliver(west, a.events);
  await deliver(east, b.events);
  return { id, eastEvent: a.events[0]!, westEvent: b.events[0]! };
}

function depsIn(cell: Cell): RunbookDeps {
  return {
    region: cell.region,
    topology,
    registry: createRegistry(testAggregates, topology),
    clock: cell.clock,
    cell: (name: string) => {
      const c = name === east.region ? east : west;
      return tableCell({ region: name, tables: c.db, events: c.events, states: c.states });
    },
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
}

/** The machine's path: LoadConflict then AppendResolution, results at `$.<task>`. */
async function resolve(deps: RunbookDeps, input: Record<string, unknown>) {
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { ...input };
  state.loadConflict = await run({ runbook: 'resolve-conflict', task: 'LoadConflict', input: state });
  state.appendResolution = await run({ runbook: 'resolve-conflict', task: 'AppendResolution', input: state });
  return state as { loadConflict: Record<string, unknown>; appendResolution: { eventId: string } };
}

const displayName = async (cell: Cell, id: string) => {
  const row = await cell.states.getState('profile-manual', id);
  return {
    frozen: row?.frozen,
    name: (JSON.parse(row?.state ?? '{}') as { displayName?: string }).displayName,
  };
};

describe('ResolveConflict runbook tasks (DynamoDB Local, real applier)', () => {
  it('keeps the chosen branch and unfreezes the aggregate in every region once the resolution replicates', async () => {
    const { id, westEvent, eastEvent } = await conflicted('choose');
    expect(await displayName(east, id)).toEqual({ frozen: true, name: 'base' });
    const state = await resolve(depsIn(east), {
      aggregateType: 'profile-manual',
      aggregateId: id,
      resolution: { choose: westEvent.eventId },
      resolvedBy: 'alice@example.com',
    });
    expect(state.loadConflict).toMatchObject({ heads: [eastEvent.eventId, westEvent.eventId].sort() });
    const resolution = (await east.events.loadStream('profile-manual', id)).find(
      (e) => e.eventId === state.appendResolution.eventId,
    )!;
    await deliver(west, [resolution]);
    for (const cell of [east, west]) {
      expect(await displayName(cell, id)).toEqual({ frozen: false, name: 'west' });
      const records = await cell.conflicts.listForAggregate('profile-manual', id);
      expect(records.map((r) => r.status)).toEqual(['resolved']);
    }
    expect(await east.conflicts.listOpen()).not.toContainEqual(expect.objectContaining({ aggregateId: id }));
  });

  it('writes a merged state given by the operator (conflictId form)', async () => {
    const { id } = await conflicted('merge');
    expect(await west.conflicts.listOpen()).toContainEqual(expect.objectContaining({ aggregateId: id }));
    const merged = { displayName: 'east+west', email: null, preferences: [] };
    await resolve(depsIn(west), { conflictId: `profile-manual#${id}`, resolution: { state: merged } });
    expect(await displayName(west, id)).toEqual({ frozen: false, name: 'east+west' });
  });

  it('fails LoadConflict when the aggregate has no open conflict, and AppendResolution on a bad resolution', async () => {
    const run = createRunbookDispatcher(depsIn(east));
    const input = { aggregateType: 'profile-manual', aggregateId: 'never-conflicted' };
    await expect(run({ runbook: 'resolve-conflict', task: 'LoadConflict', input })).rejects.toMatchObject({
      name: 'ConflictNotFound',
    });
    await expect(
      run({ runbook: 'resolve-conflict', task: 'AppendResolution', input: { ...input, resolution: {} } }),
    ).rejects.toMatchObject({ name: 'InvalidRunbookInput', field: 'resolution' });
  });
});
