import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { createArchiverHandler } from '../../../functions/archiver/handler.ts';
import { HybridLogicalClock } from '../../../lib/clock/index.ts';
import { type CommandDeps, executeCommand } from '../../../lib/commands/index.ts';
import { parseTopology, type Topology } from '../../../lib/config/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  type ArchiveSweepReport,
  archiveAggregate,
  archiveSweep,
  foldedContent,
  foldFullLog,
  fullHistory,
  HistoryIncompleteError,
  LocalDirectoryArchive,
  loadAggregate,
  pastRetention,
  peerWatermarks,
  SnapshotStore,
  snapshotOf,
  snapshotWriter,
} from '../../../lib/lifecycle/index.ts';
import { canonicalJson } from '../../../lib/model/canonical-json.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import { DynamoControlReplica, type PartitionValue, partitionKey } from '../../../lib/ownership/index.ts';
import { DynamoPartitionSource, rebuildRow } from '../../../lib/repair/index.ts';
import { WatermarkStore } from '../../../lib/replication/index.ts';
import { coreEventsLacking } from '../../../lib/runbooks/core-lacking.ts';
import type { RegionCell } from '../../../lib/runbooks/index.ts';
import { EventStore, isArchivedStub, StateStore } from '../../../lib/store/index.ts';
import { accountLog } from '../../support/core-history.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

const DAY = 86_400_000;
let region: TestRegion;
let deps: CommandDeps;
let snapshots: SnapshotStore;
let root: string;

beforeAll(async () => {
  region = await freshRegion('eu-west-1');
  const topology = bank.topology('dev');
  snapshots = new SnapshotStore({ client: region.doc, tableName: region.tables.snapshots });
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
    afterCoreAppend: snapshotWriter({ topology, store: snapshots }),
  };
  root = await mkdtemp(join(tmpdir(), 'lifecycle-archive-'));
});

afterAll(async () => rm(root, { recursive: true, force: true }));

/** An account opened and deposited into `deposits` times through the command path (1 + deposits events). */
async function accountWith(id: string, deposits: number): Promise<void> {
  const run = (type: string, payload: Record<string, unknown>) =>
    executeCommand(deps, { aggregateType: 'account', aggregateId: id, command: { type, payload } });
  await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
  for (let i = 0; i < deposits; i++) await run('Deposit', { amount: i + 1 });
}

async function listVersions(id: string): Promise<number[]> {
  const versions: number[] = [];
  for await (const snapshot of snapshots.newestFirst('account', id)) versions.push(snapshot.version);
  return versions;
}

describe('snapshots at the home', () => {
  it('are written every lifecycle.snapshotEvery events; a load reads the newest and only the tail', async () => {
    await accountWith('s1', 249);
    expect(await listVersions('s1')).toEqual([200, 100]);
    const loaded = await loadAggregate({ events: deps.events, snapshots }, account, 's1');
    expect(loaded.snapshot?.version).toBe(200);
    expect(loaded.folded).toBe(50);
    const log = await deps.events.loadStream('account', 's1');
    expect(foldedContent(loaded.record)).toEqual(foldedContent(foldFullLog(account, 's1', log)));
    const row = await deps.states.getState('account', 's1');
    expect(foldedContent(loaded.record)).toEqual(foldedContent(row!));
    expect(JSON.parse(loaded.record.state).balance).toBe((249 * 250) / 2);
  });

  it('are kept to the newest three of an aggregate', async () => {
    await accountWith('s3', 449);
    expect(await listVersions('s3')).toEqual([400, 300, 200]);
  });

  it('never change the result: a snapshot of a branch the log no longer holds is refused', async () => {
    await accountWith('s2', 130);
    const log = await deps.events.loadStream('account', 's2');
    // A branch that forked after seq 120 and reached 131 before it was retired (Failback, Repair).
    const retired = accountLog(
      Array.from({ length: 11 }, () => ({ type: 'Deposited' as const, amount: 1_000 })),
      { aggregateId: 's2', after: log[119]!, origin: 'us-east-1', causePrefix: 'lost' },
    );
    const branchRow = foldFullLog(account, 's2', [...log.slice(0, 120), ...retired]);
    await snapshots.put(snapshotOf(account, branchRow, retired.at(-1)!));
    const loaded = await loadAggregate({ events: deps.events, snapshots }, account, 's2');
    expect(loaded.rejected).toEqual([{ version: 131, reason: 'head-not-in-log' }]);
    expect(loaded.snapshot?.version).toBe(100);
    expect(foldedContent(loaded.record)).toEqual(foldedContent(foldFullLog(account, 's2', log)));
    // The broken build trusts the newest snapshot unchecked, and loads a balance the log never had.
    const unchecked = await withBug('unchecked-snapshot', () =>
      loadAggregate({ events: deps.events, snapshots }, account, 's2'),
    );
    expect(foldedContent(unchecked.record)).not.toEqual(foldedContent(foldFullLog(account, 's2', log)));
  });
});

describe('the snapshot writer', () => {
  it('is absent when no aggregate type asks for snapshots', () => {
    const topology = { aggregates: [{ type: 'account', tier: 'core' as const, conflict: 'lww' as const }] };
    expect(snapshotWriter({ topology, store: snapshots })).toBeUndefined();
  });

  it('reports a snapshot it cannot write and never fails the command whose events landed', async () => {
    const failures: unknown[] = [];
    const broken = new SnapshotStore({ client: region.doc, tableName: `${region.tables.snapshots}-missing` });
    const writer = snapshotWriter({
      topology: bank.topology('dev'),
      store: broken,
      onError: (error) => failures.push(error),
    });
    const withBroken = { ...deps, ...(writer ? { afterCoreAppend: writer } : {}) };
    const run = (type: string, payload: Record<string, unknown>) =>
      executeCommand(withBroken, { aggregateType: 'account', aggregateId: 'w1', command: { type, payload } });
    await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
    for (let i = 0; i < 100; i++) await run('Deposit', { amount: 1 });
    expect(failures).toHaveLength(1);
    expect(JSON.parse((await deps.states.getState('account', 'w1'))!.state).balance).toBe(100);
    expect(await listVersions('w1')).toEqual([]);
  });
});

describe('retention and archive', () => {
  it('moves events older than the window and covered by a snapshot out; restore loses nothing', async () => {
    await accountWith('a1', 249);
    const before = await deps.events.loadStream('account', 'a1');
    const archive = new LocalDirectoryArchive(root);
    const archiverDeps = {
      events: deps.events,
      snapshots,
      archive,
      client: region.doc,
      eventsTable: region.tables.events,
      peers: [],
      topology: { region: 'solo', regions: ['solo'] },
    };
    const window = { aggregateId: 'a1', retentionDays: 1, now: Date.now() + 2 * DAY };
    const run = await archiveAggregate(archiverDeps, account, window);
    expect(run).toMatchObject({ archived: 199, coveredBy: 200 });
    expect(
      run.objects.every((key) => /^account\/\d{4}\/\d{2}\/\d{2}\//.test(key) && key.includes('/a1/')),
    ).toBe(true);

    // Archived events stay in their slots as stubs (eventId, hlc, prev kept; the payload is in the archive).
    const hot = await deps.events.loadStream('account', 'a1');
    expect(hot.map((e) => e.seq)).toEqual(before.map((e) => e.seq));
    expect(hot.filter(isArchivedStub).map((e) => e.seq)).toEqual(before.slice(0, 199).map((e) => e.seq));
    for (const [i, stub] of hot.slice(0, 199).entries())
      expect([stub.eventId, stub.hlc, stub.prev]).toEqual([
        before[i]!.eventId,
        before[i]!.hlc,
        before[i]!.prev,
      ]);
    // Restore: every event, in order, byte for byte.
    const restored = await fullHistory({ events: deps.events, archive }, 'account', 'a1');
    expect(restored.map((e) => canonicalJson(e))).toEqual(before.map((e) => canonicalJson(e)));
    // Loads agree: snapshot + tail, and the full fold of archive + hot.
    const expected = foldedContent(foldFullLog(account, 'a1', before));
    const loaded = await loadAggregate({ events: deps.events, snapshots, archive }, account, 'a1');
    expect(foldedContent(loaded.record)).toEqual(expected);
    const replayed = await loadAggregate({ events: deps.events, archive }, account, 'a1');
    expect(replayed.snapshot).toBeNull();
    expect(foldedContent(replayed.record)).toEqual(expected);
    // Without the archive the hot log alone cannot be folded, and the load says so.
    await expect(loadAggregate({ events: deps.events }, account, 'a1')).rejects.toThrow(
      HistoryIncompleteError,
    );
    // A retry of the last write (its outcome unknown to the client) is answered from a snapshot before it.
    const causes = (await deps.states.getState('account', 'a1'))!.causes!;
    const retry = {
      aggregateType: 'account',
      aggregateId: 'a1',
      command: { type: 'Deposit', payload: { amount: 249 } },
      idempotencyKey: causes.at(-1)!,
    };
    const answered = await executeCommand({ ...deps, snapshots }, retry);
    expect(answered.events.map((e) => e.seq)).toEqual([250]);
    expect(foldedContent(answered.record)).toEqual(expected);
    // Without the snapshots, from the archive (the log with its stubs' archived copies put back).
    const fromArchive = await executeCommand({ ...deps, archive }, retry);
    expect(fromArchive.events.map((e) => e.seq)).toEqual([250]);
    expect(foldedContent(fromArchive.record)).toEqual(expected);
    // With neither, the fold meets a stub and refuses: never an answer folded from nothing, nothing written.
    await expect(executeCommand({ ...deps, maxAttempts: 2 }, retry)).rejects.toThrow(HistoryIncompleteError);
    expect(await deps.events.loadStream('account', 'a1')).toHaveLength(250);

    // A second run finds nothing more to move.
    expect(await archiveAggregate(archiverDeps, account, window)).toMatchObject({ archived: 0 });

    // Repair compares a region that archived with one that did not: the stubs keep their eventIds, so the
    // unfiltered leaves are equal (and the horizon filter, the old way, changes nothing either).
    const peer = await freshRegion('us-east-1');
    const peerEvents = new EventStore({
      client: peer.doc,
      tableName: peer.tables.events,
      coreMarkerTableName: peer.tables.replication,
    });
    for (let i = 0; i < before.length; i += 50)
      await peerEvents.appendEvents(before.slice(i, i + 50), { tier: 'core' });
    const topology = {
      aggregates: [
        {
          type: 'account',
          tier: 'core' as const,
          conflict: 'lww' as const,
          lifecycle: { snapshotEvery: 100, retentionDays: 1 },
        },
      ],
    };
    const past = pastRetention(topology, () => window.now);
    const leaves = async (r: TestRegion, filter: typeof past) =>
      (
        await new DynamoPartitionSource({
          client: r.doc,
          tableName: r.tables.events,
          pastRetention: filter,
        }).listLeaves(before[0]!.partition)
      )
        .filter((leaf) => leaf.aggregateKey === 'account#a1')
        .map((leaf) => leaf.eventId)
        .sort();
    expect(await leaves(region, undefined)).toEqual(await leaves(peer, undefined));
    expect(await leaves(region, undefined)).toHaveLength(250);
    expect(await leaves(region, past)).toEqual(await leaves(peer, past));

    // Switchover's check of what a target lacks: not the events it archived below a snapshot both logs hold.
    const cellOf = (r: TestRegion, events: EventStore, withSnapshots?: SnapshotStore) =>
      ({
        region: r.region,
        tables: { client: r.doc, replication: r.tables.replication },
        events,
        ...(withSnapshots ? { snapshots: withSnapshots } : {}),
      }) as unknown as RegionCell;
    const lacking = (other: RegionCell) =>
      coreEventsLacking(
        { registry: deps.registry },
        { holder: cellOf(peer, peerEvents), other, partition: before[0]!.partition },
      );
    expect(await lacking(cellOf(region, deps.events, snapshots))).toEqual([]);
    expect(await lacking(cellOf(region, deps.events))).toEqual([]);

    // A row rebuilt by Repair from the archived log starts from the snapshot, not from nowhere.
    const row = (await deps.states.getState('account', 'a1'))!;
    await deps.states.putStateIf({ ...row, state: '{"damaged":true}' }, row);
    expect(await rebuildRow({ ...deps, snapshots }, account, { aggregateId: 'a1', policy: 'lww' })).toBe(
      true,
    );
    expect(foldedContent((await deps.states.getState('account', 'a1'))!)).toEqual(expected);
    // When none of the snapshots it tries is confirmed by the log, Repair refuses to fold from the middle.
    const valid = (await snapshots.latest('account', 'a1'))!;
    for (const version of [260, 270, 280])
      await snapshots.put({ ...valid, version, headEventId: '01J00000000000000000000000' });
    await expect(
      rebuildRow({ ...deps, snapshots }, account, { aggregateId: 'a1', policy: 'lww' }),
    ).rejects.toThrow(HistoryIncompleteError);
    expect(foldedContent((await deps.states.getState('account', 'a1'))!)).toEqual(expected);
  });

  it('keeps every event younger than the window in the hot table', async () => {
    await accountWith('a2', 120);
    const archive = new LocalDirectoryArchive(root);
    const run = await archiveAggregate(
      {
        events: deps.events,
        snapshots,
        archive,
        client: region.doc,
        eventsTable: region.tables.events,
        peers: [],
        topology: { region: 'solo', regions: ['solo'] },
      },
      account,
      { aggregateId: 'a2', retentionDays: 1, now: Date.now() },
    );
    expect(run).toEqual({ archived: 0, objects: [], coveredBy: 100 });
    expect(await deps.events.loadStream('account', 'a2')).toHaveLength(121);
  });
});

/**
 * A fresh cell whose topology gives `account` a retention of one day and a snapshot every `snapshotEvery`
 * events (the example bank keeps no retention), with the command deps that write it.
 */
async function retentionCell(snapshotEvery: number) {
  const cell = await freshRegion('ap-southeast-1');
  const parsed = parseTopology(bank.environments.dev);
  const topology = {
    ...parsed,
    aggregates: parsed.aggregates.map((a) =>
      a.type === 'account' ? { ...a, lifecycle: { snapshotEvery, retentionDays: 1 } } : a,
    ),
  };
  return { cell, topology, ...cellCommandDeps(cell, topology) };
}

/** The command deps writing a cell's own tables (its snapshots per the topology's lifecycle). */
function cellCommandDeps(cell: TestRegion, topology: Topology) {
  const cellSnapshots = new SnapshotStore({ client: cell.doc, tableName: cell.tables.snapshots });
  const cellDeps: CommandDeps = {
    ...deps,
    registry: createRegistry(exampleAggregates, topology),
    events: new EventStore({
      client: cell.doc,
      tableName: cell.tables.events,
      coreMarkerTableName: cell.tables.replication,
    }),
    states: new StateStore({ client: cell.doc, tableName: cell.tables.state }),
    afterCoreAppend: snapshotWriter({ topology, store: cellSnapshots }),
  };
  return { cellSnapshots, cellDeps };
}

describe('the archive sweep', () => {
  it('archives every aggregate of every type with a retention, and deletes nothing it could not archive', async () => {
    // The example bank keeps no retention: the archive pass is exercised on a topology given one.
    const { cell, topology, cellSnapshots, cellDeps } = await retentionCell(100);
    for (const [id, deposits] of [
      ['sw1', 149],
      ['sw2', 19],
    ] as const) {
      const run = (type: string, payload: Record<string, unknown>) =>
        executeCommand(cellDeps, { aggregateType: 'account', aggregateId: id, command: { type, payload } });
      await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
      for (let i = 0; i < deposits; i++) await run('Deposit', { amount: 2 });
    }
    const sweepDeps = (archive: LocalDirectoryArchive) => ({
      events: cellDeps.events,
      snapshots: cellSnapshots,
      archive,
      client: cell.doc,
      eventsTable: cell.tables.events,
      peers: [],
      topology: { region: 'solo', regions: ['solo'] },
    });
    const input = {
      topology,
      registry: cellDeps.registry,
      stateTable: cell.tables.state,
      now: Date.now() + 2 * DAY,
    };
    // An archive that cannot be written: the failure is reported, the hot log keeps every event.
    const unwritable = join(root, 'not-a-directory');
    await writeFile(unwritable, 'x');
    const failed = await archiveSweep(sweepDeps(new LocalDirectoryArchive(unwritable)), input);
    expect(failed.failures.map((f) => f.aggregate)).toEqual(['account#sw1']);
    expect(await cellDeps.events.loadStream('account', 'sw1')).toHaveLength(150);

    const report = await archiveSweep(sweepDeps(new LocalDirectoryArchive(join(root, 'sweep'))), input);
    expect(report).toEqual({ types: { account: { aggregates: 2, archived: 99 } }, failures: [] });
    const sw1 = await cellDeps.events.loadStream('account', 'sw1');
    expect(sw1.filter(isArchivedStub).map((e) => e.seq)).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
    expect(sw1).toHaveLength(150);
    expect(await cellDeps.events.loadStream('account', 'sw2')).toHaveLength(20);
  });
});

describe('an archive pass longer than one run (the archiver stops before its Lambda timeout)', () => {
  /** Six accounts of six events in a fresh cell, snapshot every 5: seq 1-4 of each are archivable. */
  async function cellWithAccounts() {
    const { cell, topology, cellSnapshots, cellDeps } = await retentionCell(5);
    const ids = Array.from({ length: 6 }, (_, i) => `pass-${i}`);
    for (const id of ids) {
      const run = (type: string, payload: Record<string, unknown>) =>
        executeCommand(cellDeps, { aggregateType: 'account', aggregateId: id, command: { type, payload } });
      await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
      for (let i = 0; i < 5; i++) await run('Deposit', { amount: 1 });
    }
    const archive = new LocalDirectoryArchive(await mkdtemp(join(root, 'pass-')));
    const sweepDeps = {
      events: cellDeps.events,
      snapshots: cellSnapshots,
      archive,
      client: cell.doc,
      eventsTable: cell.tables.events,
      peers: [],
      topology: { region: 'solo', regions: ['solo'] },
    };
    // A run's clock moves one step per look at it, and the run stops at step 5: a few aggregates a run.
    const run = () => {
      let step = 0;
      return archiveSweep(sweepDeps, {
        topology,
        registry: cellDeps.registry,
        stateTable: cell.tables.state,
        now: Date.now() + 2 * DAY,
        stopAt: 5,
        clock: () => step++,
      });
    };
    const archivedOf = async (id: string) =>
      (await cellDeps.events.loadStream('account', id)).filter(isArchivedStub).length;
    return { ids, run, archive, archivedOf };
  }

  /** Runs the archiver `times` times; the reports, and how many events of each account are stubs. */
  async function runs(times: number) {
    const cell = await cellWithAccounts();
    const reports: ArchiveSweepReport[] = [];
    for (let i = 0; i < times; i++) reports.push(await cell.run());
    return { ...cell, reports, archived: await Promise.all(cell.ids.map(cell.archivedOf)) };
  }

  it('goes on where the last run stopped, so every aggregate is reached, each archived once', async () => {
    const cell = await cellWithAccounts();
    const reports: ArchiveSweepReport[] = [];
    // Runs until one finishes the pass (at most 6: every run does at least one aggregate).
    do reports.push(await cell.run());
    while (reports.at(-1)?.stoppedAt !== undefined && reports.length < 6);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.at(-1)?.stoppedAt).toBeUndefined();
    expect(reports[0]?.types.account?.aggregates).toBeLessThan(6);
    for (let i = 1; i < reports.length; i++)
      expect(reports[i]?.resumedFrom).toEqual(reports[i - 1]?.stoppedAt);
    // Every account's seq 1-4 archived, each by one run: the runs together looked at each account once.
    expect(await Promise.all(cell.ids.map(cell.archivedOf))).toEqual([4, 4, 4, 4, 4, 4]);
    expect(reports.reduce((n, r) => n + (r.types.account?.archived ?? 0), 0)).toBe(24);
    expect(reports.reduce((n, r) => n + (r.types.account?.aggregates ?? 0), 0)).toBe(6);
    // The finished pass leaves no cursor: the next run begins a new pass from the start.
    expect(await cell.archive.get('_archiver/pass.json')).toBe('{}');
    const next = await cell.run();
    expect(next.resumedFrom).toBeUndefined();
    expect(next.types.account?.archived).toBe(0);
  });

  it('under archive-pass-restarts (every run from the start) leaves the accounts past one run never archived', async () => {
    const { archived } = await withBug('archive-pass-restarts', () => runs(6));
    expect(archived.filter((n) => n === 0).length).toBeGreaterThan(0);
  });
});

describe('the archiver function (functions/archiver)', () => {
  it("runs one pass gated on a peer read from the peer's own tables, and records the report", async () => {
    const home = await freshRegion('us-east-1');
    const peer = await freshRegion('eu-west-1');
    const parsed = parseTopology(bank.environments.dev);
    const withRetention = {
      ...parsed,
      aggregates: parsed.aggregates.map((a) =>
        a.type === 'account' ? { ...a, lifecycle: { snapshotEvery: 5, retentionDays: 1 } } : a,
      ),
    };
    // Two regions: the home and the one peer whose tables the archiver reads.
    const topology = {
      ...withRetention,
      regions: withRetention.regions.filter((r) => r.name !== 'ap-southeast-1'),
    };
    const { cellSnapshots: homeSnapshots, cellDeps } = cellCommandDeps(home, topology);
    const homeDeps: CommandDeps = {
      ...cellDeps,
      region: 'us-east-1',
      clock: new HybridLogicalClock({ region: 'us-east-1' }),
    };
    const run = (type: string, payload: Record<string, unknown>) =>
      executeCommand(homeDeps, { aggregateType: 'account', aggregateId: 'fn1', command: { type, payload } });
    await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
    for (let i = 0; i < 10; i++) await run('Deposit', { amount: 1 });
    const log = await homeDeps.events.loadStream('account', 'fn1');
    const recorded: ArchiveSweepReport[] = [];
    const handlerDeps = {
      topology,
      region: 'us-east-1',
      registry: homeDeps.registry,
      stateTable: home.tables.state,
      events: homeDeps.events,
      snapshots: homeSnapshots,
      archive: new LocalDirectoryArchive(join(root, 'function'), { app: 'bank' }),
      client: home.doc,
      eventsTable: home.tables.events,
      peers: [
        peerWatermarks({
          region: 'eu-west-1',
          client: peer.doc,
          replicationTable: peer.tables.replication,
          eventsTable: peer.tables.events,
        }),
      ],
      now: () => Date.now() + 2 * DAY,
    };
    const handler = createArchiverHandler({ ...handlerDeps, record: (report) => recorded.push(report) });
    // The peer has applied nothing from us-east-1 (no watermark, empty log): nothing moves.
    expect(await handler({})).toEqual({ types: { account: { aggregates: 1, archived: 0 } }, failures: [] });
    // The peer applies the log and its watermark passes it: everything below the snapshot at 10 moves.
    const peerEvents = new EventStore({
      client: peer.doc,
      tableName: peer.tables.events,
      coreMarkerTableName: peer.tables.replication,
    });
    await peerEvents.appendEvents(log, { tier: 'core' });
    await new WatermarkStore({ client: peer.doc, tableName: peer.tables.replication }).advance(
      'us-east-1',
      log.at(-1)!.hlc,
      new Date(),
    );
    // A topology region with no peer entry: the aggregate fails (the gate is never off for a region).
    const unpeered = await createArchiverHandler({ ...handlerDeps, topology: withRetention })({});
    expect(unpeered.types.account).toEqual({ aggregates: 1, archived: 0 });
    expect(unpeered.failures.map((f) => f.error)).toEqual([
      expect.stringMatching(/^ArchiverConfigError: peers lack ap-southeast-1/),
    ]);
    // Only the home archives: this region's own copy of the map names another home, the pass skips it.
    const control = new DynamoControlReplica({
      region: 'us-east-1',
      client: home.doc,
      tableName: home.tables.control,
    });
    const key = partitionKey(log[0]!.partition);
    const entry = (at: string, state: 'active' | 'fenced') => ({
      epoch: state === 'active' ? 2 : 3,
      ballot: `b${state}`,
      value: { home: at, state, activeFrom: 0 },
    });
    expect(await control.write<PartitionValue>(key, entry('eu-west-1', 'active'))).toBe(true);
    const elsewhere = createArchiverHandler({ ...handlerDeps, controlTable: home.tables.control });
    expect(await elsewhere({})).toEqual({
      types: { account: { aggregates: 1, archived: 0, homedElsewhere: 1 } },
      failures: [],
    });
    expect(await homeDeps.events.loadStream('account', 'fn1')).toEqual(log);
    expect(await control.write<PartitionValue>(key, entry('us-east-1', 'fenced'))).toBe(true);
    expect((await elsewhere({})).types.account).toEqual({ aggregates: 1, archived: 0, homedElsewhere: 1 });
    expect(await handler({})).toEqual({ types: { account: { aggregates: 1, archived: 9 } }, failures: [] });
    expect(recorded.map((r) => r.types.account?.archived)).toEqual([0, 9]);
    expect(
      await fullHistory(
        {
          events: homeDeps.events,
          archive: new LocalDirectoryArchive(join(root, 'function'), { app: 'bank' }),
        },
        'account',
        'fn1',
      ),
    ).toEqual(log);
  });
});
