import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { createRunbookDispatcher, type RunbookDeps } from '../../../lib/runbooks/index.ts';
import { copyTables, restoreTables } from '../../../lib/sandbox/dynamodb/table-copy.ts';
import { aggregateKey } from '../../../lib/store/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { A, B, branchWorld, C, regionCell, runRepair as runRepairTasks } from './branch-cells.ts';

/** Runs the Repair machine's tasks the way its Map state does, for the given partitions. */
async function runRepair(deps: RunbookDeps, partitions: number[]) {
  const run = createRunbookDispatcher(deps);
  const state: Record<string, unknown> = { partitions };
  state.listPartitions = await run({ runbook: 'repair', task: 'ListPartitions', input: state });
  const items = (state.listPartitions as { partitions: Array<{ partition: number; peers: string[] }> })
    .partitions;
  const outputs = [];
  for (const item of items) {
    const it: Record<string, unknown> = { ...item };
    it.buildTrees = await run({ runbook: 'repair', task: 'BuildTrees', input: it });
    it.diff = await run({ runbook: 'repair', task: 'Diff', input: it });
    outputs.push(await run({ runbook: 'repair', task: 'Replay', input: it }));
  }
  state.repairPartitions = outputs;
  return run({ runbook: 'repair', task: 'Report', input: state });
}

describe('Repair runbook tasks on DynamoDB Local with the real applier', () => {
  it('replays the events a region missed (core in order, important merged) and finds nothing on a second run', async () => {
    const topology = testTopology();
    const cells: Cell[] = [];
    const east = await makeCell('us-east-1', { topology, peers: () => cells });
    const west = await makeCell('eu-west-1', { topology, peers: () => cells });
    cells.push(east, west);
    const written: EventEnvelope[] = [];
    const run = `r${Date.now().toString(36)}`;
    for (let i = 0; i < 6; i++) {
      const id = `${run}-acct-${i}`;
      written.push(
        ...(
          await east.execute({
            aggregateType: 'account',
            aggregateId: id,
            command: { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } },
          })
        ).events,
      );
      for (let d = 1; d <= 3; d++)
        written.push(
          ...(
            await east.execute({
              aggregateType: 'account',
              aggregateId: id,
              command: { type: 'Deposit', payload: { amount: d } },
            })
          ).events,
        );
      written.push(
        ...(
          await west.execute({
            aggregateType: 'profile',
            aggregateId: `${run}-p-${i}`,
            command: { type: 'SetDisplayName', payload: { displayName: `w${i}` } },
          })
        ).events,
      );
    }
    // West received only the first account's events; east received none of west's.
    for (const event of written.filter((e) => e.origin === 'us-east-1' && e.aggregateId.endsWith('-0')))
      await west.apply(structuredClone(event));
    const partitions = [...new Set(written.map((e) => e.partition))];
    const deps = {
      region: 'us-east-1',
      topology,
      registry: createRegistry(testAggregates, topology),
      cell: (name: string) => regionCell(name === 'us-east-1' ? east : west),
      observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
      setTraffic: async () => undefined,
      map: undefined,
      register: undefined,
    } as unknown as RunbookDeps;
    const regions = ['us-east-1', 'eu-west-1'];
    const report = await runRepair(
      { ...deps, topology: { ...topology, regions: regions.map((name) => ({ name })) } as typeof topology },
      partitions,
    );
    expect(report.eventsReplayed).toBe(written.length - 4);
    expect(report.partitionsDiffering).toBeGreaterThan(0);
    for (let i = 0; i < 6; i++) {
      const id = `${run}-acct-${i}`;
      expect((await west.states.getState('account', id))?.seq).toBe(4);
      expect((await east.states.getState('profile', `${run}-p-${i}`))?.state).toContain(`w${i}`);
    }
    const again = await runRepair(
      { ...deps, topology: { ...topology, regions: regions.map((name) => ({ name })) } as typeof topology },
      partitions,
    );
    expect(again).toMatchObject({ eventsReplayed: 0, partitionsDiffering: 0, bucketsDiffering: 0 });
  });
});

describe('Repair after a region was restored to a point in time', () => {
  it("puts back the region's own events written after T (the applier refuses them as forged) and rebuilds its rows", async () => {
    const topology = testTopology();
    const cells: Cell[] = [];
    const east = await makeCell('us-east-1', { topology, peers: () => cells });
    const west = await makeCell('eu-west-1', { topology, peers: () => cells });
    cells.push(east, west);
    const run = `t${Date.now().toString(36)}`;
    const account = `${run}-acct`;
    const profile = `${run}-prof`;
    const write = async (aggregateType: string, aggregateId: string, command: object) => {
      const { events } = await east.execute({ aggregateType, aggregateId, command } as never);
      for (const event of events) await west.apply(structuredClone(event));
      return events;
    };
    const beforeT = [
      ...(await write('account', account, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })),
      ...(await write('profile', profile, { type: 'SetDisplayName', payload: { displayName: 'before' } })),
    ];
    const copy = await copyTables(east.db.dynamodb, { region: 'us-east-1', env: east.db.env });
    const afterT = [
      ...(await write('account', account, { type: 'Deposit', payload: { amount: 5 } })),
      ...(await write('account', account, { type: 'Deposit', payload: { amount: 7 } })),
      ...(await write('profile', profile, { type: 'SetDisplayName', payload: { displayName: 'after' } })),
    ];
    await restoreTables(east.db.dynamodb, copy);
    expect((await east.states.getState('account', account))?.seq).toBe(1);

    const deps = {
      region: 'us-east-1',
      topology: { ...topology, regions: [{ name: 'us-east-1' }, { name: 'eu-west-1' }] },
      registry: createRegistry(testAggregates, topology),
      cell: (name: string) => regionCell(name === 'us-east-1' ? east : west),
      observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
      setTraffic: async () => undefined,
      map: undefined,
      register: undefined,
    } as unknown as RunbookDeps;
    const partitions = [...new Set([...beforeT, ...afterT].map((e) => e.partition))];
    const report = await runRepair(deps, partitions);

    expect(report.eventsReplayed).toBe(afterT.length);
    for (const event of afterT)
      expect(
        (await east.events.loadStream(event.aggregateType, event.aggregateId)).map((e) => e.eventId),
      ).toContain(event.eventId);
    const [eastAccount, westAccount] = await Promise.all(
      [east, west].map((c) => c.states.getState('account', account)),
    );
    const { updatedAt: _e, ...eastRow } = eastAccount ?? {};
    const { updatedAt: _w, ...westRow } = westAccount ?? {};
    expect(eastRow).toEqual(westRow);
    expect(eastAccount?.seq).toBe(3);
    expect((await east.states.getState('profile', profile))?.state).toContain('after');
    expect(await east.quarantine.count()).toBe(0);
    expect(await runRepair(deps, partitions)).toMatchObject({ eventsReplayed: 0, partitionsDiffering: 0 });
  });
});

describe('Repair covers projection rows', () => {
  it('finds a state row that diverged from its log (events identical everywhere) and rebuilds it', async () => {
    const world = await branchWorld(A);
    const { id, partition } = await world.account('row', A);
    const written = [
      ...(await world.write(A, id, { type: 'OpenAccount', payload: { owner: 'o', currency: 'EUR' } })),
      ...(await world.write(A, id, { type: 'Deposit', payload: { amount: 5 } })),
    ];
    const profileId = `${id}-p`;
    const profile = await world.cells[A]!.execute({
      aggregateType: 'profile',
      aggregateId: profileId,
      command: { type: 'SetDisplayName', payload: { displayName: 'ann' } },
    });
    for (const region of [B, C]) await world.deliver(region, [...written, ...profile.events]);
    const rowOf = (region: string, type: string, aggregateId: string) =>
      world.cells[region]!.states.getState(type, aggregateId);
    // Corrupt two rows directly (same version and head, wrong state): C's account, B's profile.
    const corrupt = async (region: string, type: string, aggregateId: string, state: object) => {
      const row = (await rowOf(region, type, aggregateId))!;
      const { db } = world.cells[region]!;
      await db.doc.send(
        new PutCommand({
          TableName: db.tables.state,
          Item: { pk: aggregateKey(type, aggregateId), ...row, state: JSON.stringify(state) },
        }),
      );
    };
    await corrupt(C, 'account', id, { opened: true, owner: 'o', currency: 'EUR', balance: 999 });
    await corrupt(B, 'profile', profileId, { displayName: 'mallory', email: null, preferences: [] });
    const partitions = [...new Set([partition, profile.events[0]!.partition])];

    const report = await runRepairTasks(world, { partitions, peers: [A, B, C] });

    expect(report).toMatchObject({ eventsReplayed: 0, rowsRebuilt: 2, partitionsFailed: [] });
    expect(report.partitionsDiffering).toBeGreaterThan(0);
    for (const region of [B, C]) {
      expect((await rowOf(region, 'account', id))?.state).toBe((await rowOf(A, 'account', id))?.state);
      expect((await rowOf(region, 'profile', profileId))?.state).toBe(
        (await rowOf(A, 'profile', profileId))?.state,
      );
    }
    const again = await runRepairTasks(world, { partitions, peers: [A, B, C] });
    expect(again).toMatchObject({ partitionsDiffering: 0, rowsRebuilt: 0 });
  });
});
