import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  createRunbookDispatcher,
  type RunbookDeps,
  type RunbookRequest,
} from '../../../lib/runbooks/index.ts';
import { mapBounded } from '../../../lib/runbooks/input.ts';
import { REPAIR_MAX_ITEMS } from '../../../lib/runbooks/repair-tasks.ts';
import { loadTemplates, PROJECT_ROOT, type StackTemplates } from '../../../lib/sandbox/cdk/templates.ts';
import { stateMachinesOf } from '../../../lib/sandbox/state-machines/definitions.ts';
import { StateMachineRunner } from '../../../lib/sandbox/state-machines/runner.ts';
import { BANK_CONFIG } from '../../support/bank.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import { type Cell, makeCell, testAggregates, testTopology } from '../replication/cells.ts';
import { regionCell } from './branch-cells.ts';

/**
 * The synthesized Repair machine, run by the sandbox's Step Functions (which fails an execution past 25,000
 * history events and 256 KiB of state, as AWS does), over two regions whose logs hold events in 1,500
 * partitions: one Map iteration per partition would be ~28,000 history events.
 */
const WITH_EVENTS = 1_500;
const MACHINE_REGION = 'eu-west-1';
let templates: StackTemplates;

beforeAll(async () => {
  ({ templates } = await loadTemplates({
    topology: bank.topology('dev'),
    config: BANK_CONFIG,
    stackNames: ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'global'].map((r) => `multiactive-dev-${r}`),
    cacheDir: join(PROJECT_ROOT, '.sandbox', 'cdk'),
  }));
}, 180_000);

/**
 * Two regions with the same activity event in every one of WITH_EVENTS partitions; west lacks `missing`.
 * `seeded` keeps the seeding to the partitions a test reads (given the lacking events' partitions): a test
 * of one Map item reads its group only, and the other partitions' events would be seeded for nothing.
 */
async function world(seeded: (partition: number, missing: ReadonlySet<number>) => boolean = () => true) {
  const topology = testTopology({ partitions: 2_048 });
  const cells: Cell[] = [];
  const east = await makeCell('us-east-1', { topology, peers: () => cells });
  const west = await makeCell('eu-west-1', { topology, peers: () => cells });
  cells.push(east, west);
  const run = `s${Date.now().toString(36)}`;
  // The lacking events first (only east has them): their partitions decide what `seeded` keeps.
  const missing = await lackingIn(east, `${run}-acct`);
  const missingPartitions = new Set(missing.map((e) => e.partition));
  const shared = Array.from({ length: WITH_EVENTS }, (_, p) =>
    sampleEnvelope({
      aggregateType: 'activity',
      aggregateId: `${run}-${p}`,
      partition: p,
      type: 'EntryAppended',
      payload: { text: 'seeded' },
    }),
  ).filter((event) => seeded(event.partition, missingPartitions));
  await mapBounded(shared, 32, async (event) => {
    await east.events.appendEvents([event], { tier: 'ordinary' });
    await west.events.appendEvents([structuredClone(event)], { tier: 'ordinary' });
  });
  const regions = [east, west];
  const deps = {
    region: 'us-east-1',
    topology: { ...topology, regions: regions.map((c) => ({ name: c.region })) },
    registry: createRegistry(testAggregates, topology),
    cell: (name: string) => regionCell(name === 'us-east-1' ? east : west),
    observe: async () => ({ reachable: true, heartbeatAgeMs: 0 }),
    setTraffic: async () => undefined,
  } as unknown as RunbookDeps;
  return { deps, east, west, missing };
}

/** Three accounts opened in `east` only: the events west lacks. */
async function lackingIn(east: Cell, prefix: string) {
  const missing = [];
  for (let i = 0; i < 3; i++) {
    const id = `${prefix}-${i}`;
    const { events } = await east.execute({
      aggregateType: 'account',
      aggregateId: id,
      command: { type: 'OpenAccount', payload: { owner: id, currency: 'EUR' } },
    });
    missing.push(...events);
  }
  return missing;
}

let machineWorld: ReturnType<typeof world> | undefined;

/**
 * The two machine tests' world, seeded once for the file (3,000 appends, most of each test's time): the
 * first test repairs what west lacked; the second opens three accounts of its own in east first, so it
 * runs the machine over the same 1,500 partitions with events and events west lacks, as a fresh world
 * would. (The first test's exact `eventsReplayed` needs it to run first, vitest's order in a file.)
 */
function sharedMachineWorld() {
  machineWorld ??= world();
  return machineWorld;
}

function repairRunner(deps: RunbookDeps) {
  const run = createRunbookDispatcher(deps);
  return new StateMachineRunner({
    machines: stateMachinesOf(templates[`multiactive-dev-${MACHINE_REGION}`]!, {
      region: MACHINE_REGION,
      account: '111111111111',
    }),
    waitScale: 0.001,
    invoke: async (_region, _fn, payload) => run(payload as RunbookRequest),
  });
}

describe(`Repair over ${WITH_EVENTS} partitions with events, through the synthesized machine`, () => {
  it(`checks them in at most ${REPAIR_MAX_ITEMS} Map items (groups of consecutive partitions) and replays what a region lacks`, async () => {
    const { deps, west, missing } = await sharedMachineWorld();
    const runner = repairRunner(deps);
    const started = runner.start(MACHINE_REGION, 'Repair', {});
    const result = await started.done;
    expect(result.taskErrors).toEqual([]);
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as {
      listPartitions: { partitions: unknown[] };
      report: Record<string, unknown>;
    };
    expect(output.listPartitions.partitions.length).toBeLessThanOrEqual(REPAIR_MAX_ITEMS);
    expect(output.report).toMatchObject({ eventsReplayed: missing.length, partitionsFailed: [] });
    expect(output.report.partitionsChecked).toBeGreaterThanOrEqual(WITH_EVENTS);
    for (const event of missing)
      expect(
        (await west.events.loadStream(event.aggregateType, event.aggregateId)).map((e) => e.eventId),
      ).toEqual([event.eventId]);
  }, 300_000);

  it('finds the broken build: one Map item per partition passes the 25,000-event history quota and the execution fails', async () => {
    const { deps, east } = await sharedMachineWorld();
    expect(await lackingIn(east, `bug-${Date.now().toString(36)}`)).toHaveLength(3);
    const result = await withBug('repair-item-per-partition', () =>
      repairRunner(deps).run(MACHINE_REGION, 'Repair', {}),
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.cause).toMatch(/history passed 25000 events/);
  }, 300_000);
});

/** Seeded partitions of the one Map item the last test runs by hand. */
const GROUP_SEEDED = 200;

describe('a group of partitions (one Map item) with one partition that cannot be read', () => {
  it('checks and repairs the others, and reports the one that failed', async () => {
    // The group below is partitions 0-199 and the lacking events' partitions: it is seeded as in the
    // full world (every partition below WITH_EVENTS has its event), the partitions outside it are not.
    const { deps, west, missing } = await world((p, lacking) => p < GROUP_SEEDED || lacking.has(p));
    const broken = missing[0]!.partition;
    // Every region's source fails for one partition of the group (e.g. a permanently failing read).
    const cell = (name: string) => {
      const real = deps.cell(name);
      return {
        ...real,
        source: {
          ...real.source,
          listLeaves: (p: number) =>
            p === broken ? Promise.reject(new Error('unreadable partition')) : real.source.listLeaves(p),
          getEvents: real.source.getEvents.bind(real.source),
          ...(real.source.listRows ? { listRows: real.source.listRows.bind(real.source) } : {}),
        },
      };
    };
    const run = createRunbookDispatcher({ ...deps, cell });
    const peers = ['us-east-1', 'eu-west-1'];
    // A group as ListPartitions makes one of an asked list: 200 seeded partitions and every lacking event's.
    const group = [
      ...new Set([...Array.from({ length: GROUP_SEEDED }, (_, p) => p), ...missing.map((e) => e.partition)]),
    ];
    group.sort((a, b) => a - b);
    const item: Record<string, unknown> = { partition: group[0], partitions: group, peers };
    item.buildTrees = await run({ runbook: 'repair', task: 'BuildTrees', input: item });
    item.diff = await run({ runbook: 'repair', task: 'Diff', input: item });
    const output = await run({ runbook: 'repair', task: 'Replay', input: item });
    const report = await run({
      runbook: 'repair',
      task: 'Report',
      input: { listPartitions: { startedAt: Date.now(), partitions: [item] }, repairPartitions: [output] },
    });
    expect(report).toMatchObject({
      partitionsChecked: group.length - 1,
      partitionsFailedCount: 1,
      partitionsFailed: [{ partition: broken, error: 'Error' }],
    });
    // The other lacking events of the group were replayed.
    const others = missing.filter((e) => e.partition !== broken);
    expect(report.eventsReplayed).toBe(others.length);
    for (const event of others)
      expect((await west.events.loadStream(event.aggregateType, event.aggregateId)).length).toBe(1);
  }, 300_000);
});
