import { beforeAll, describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../examples/bank/index.ts';
import bank from '../../examples/bank/multiactive.config.ts';
import { encodeHlc, HybridLogicalClock } from '../../lib/clock/index.ts';
import { type CommandDeps, executeCommand } from '../../lib/commands/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import { EventStore, StateStore } from '../../lib/store/index.ts';
import { freshRegion } from '../support/dynamo.ts';

let deps: CommandDeps;

beforeAll(async () => {
  const region = await freshRegion('eu-west-1');
  const topology = bank.topology('dev');
  deps = {
    registry: createRegistry(exampleAggregates, topology),
    events: new EventStore({
      client: region.doc,
      tableName: region.tables.events,
      coreMarkerTableName: region.tables.replication,
    }),
    states: new StateStore({ client: region.doc, tableName: region.tables.state }),
    clock: new HybridLogicalClock({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    partitions: topology.partitions,
  };
});

const run = (aggregateType: string, aggregateId: string, type: string, payload: Record<string, unknown>) =>
  executeCommand(deps, { aggregateType, aggregateId, command: { type, payload } });

describe('executeCommand', () => {
  it('serializes concurrent core commands: ten deposits all land, numbered 2..11', async () => {
    await run('account', 'c1', 'OpenAccount', { owner: 'Ada', currency: 'EUR' });
    await Promise.all(Array.from({ length: 10 }, () => run('account', 'c1', 'Deposit', { amount: 1 })));
    const events = await deps.events.loadStream('account', 'c1');
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(JSON.parse((await deps.states.getState('account', 'c1'))!.state).balance).toBe(10);
  });

  it('never lets concurrent withdrawals overdraw an account', async () => {
    await run('account', 'c2', 'OpenAccount', { owner: 'Bo', currency: 'EUR' });
    await run('account', 'c2', 'Deposit', { amount: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => run('account', 'c2', 'Withdraw', { amount: 1 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(JSON.parse((await deps.states.getState('account', 'c2'))!.state).balance).toBe(0);
  });

  it('gives concurrent important-tier writers in one region distinct, ordered version vectors', async () => {
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => run('profile', 'p1', 'SetDisplayName', { displayName: name })),
    );
    const events = await deps.events.loadStream('profile', 'p1');
    expect(events.map((e) => e.vv['eu-west-1'])).toEqual([1, 2, 3, 4]);
    const record = await deps.states.getState('profile', 'p1');
    expect(record?.version).toBe(4);
    expect(JSON.parse(record!.state).displayName).toBe(events.at(-1)?.payload.displayName);
  });

  it('catches the projection up from the log when a writer died between append and projection', async () => {
    await run('account', 'c3', 'OpenAccount', { owner: 'Cy', currency: 'EUR' });
    const orphan = (await run('account', 'c3', 'Deposit', { amount: 7 })).events[0]!;
    // Simulate the crash: put the projection back to before the deposit.
    const stale = await deps.states.getState('account', 'c3');
    // A second deposit the writer appended on top (it chains: prev = the deposit's HLC) before dying.
    const next = { ...orphan, eventId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', seq: 3, prev: orphan.hlc };
    await deps.events.appendEvents([{ ...next, hlc: encodeHlc(deps.clock.now()) }], { tier: 'core' });
    const result = await run('account', 'c3', 'Deposit', { amount: 1 });
    expect(stale?.seq).toBe(2);
    expect(result.events[0]?.seq).toBe(4);
    expect((result.state as { balance: number }).balance).toBe(15);
  });
});
