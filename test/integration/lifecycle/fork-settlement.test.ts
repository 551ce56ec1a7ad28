import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { decodeHlc, encodeHlc, HybridLogicalClock } from '../../../lib/clock/index.ts';
import { type CommandDeps, executeCommand } from '../../../lib/commands/index.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import {
  archiveAggregate,
  ForkBelowArchiveError,
  foldedContent,
  foldFullLog,
  LocalDirectoryArchive,
  SnapshotStore,
  snapshotWriter,
} from '../../../lib/lifecycle/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { type RegionCell, settleCoreAggregate } from '../../../lib/runbooks/index.ts';
import { EventStore, isArchivedStub, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

const DAY = 86_400_000;
/**
 * The account's snapshots every 20 events here (dev's config: 100), so an archive point is 50 writes away,
 * not 250: snapshots at 20 and 40, seq 1..39 archived as stubs, a fork at 30 below them.
 */
const SNAPSHOT_EVERY = 20;
const DEPOSITS = 2 * SNAPSHOT_EVERY + SNAPSHOT_EVERY / 2 - 1; // 49: the log holds 50 events
const ARCHIVED = 2 * SNAPSHOT_EVERY - 1; // 39 stubs: up to the last snapshot
const FORK_AT = SNAPSHOT_EVERY + SNAPSHOT_EVERY / 2; // 30: between the two snapshots
let home: TestRegion;
let peer: TestRegion;
let root: string;

beforeAll(async () => {
  home = await freshRegion('eu-west-1', 'fork');
  peer = await freshRegion('us-east-1', 'fork');
  root = await mkdtemp(join(tmpdir(), 'fork-archive-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

/** A region's cell as the runbooks see it (only what fork settlement uses). */
function cellOf(
  r: TestRegion,
): RegionCell & { events: EventStore; states: StateStore; snapshots: SnapshotStore } {
  return {
    region: r.region,
    events: new EventStore({
      client: r.doc,
      tableName: r.tables.events,
      coreMarkerTableName: r.tables.replication,
    }),
    states: new StateStore({ client: r.doc, tableName: r.tables.state }),
    snapshots: new SnapshotStore({ client: r.doc, tableName: r.tables.snapshots }),
    conflicts: new ConflictRecordStore({ client: r.doc, tableName: r.tables.replication }),
    tables: {
      client: r.doc,
      events: r.tables.events,
      state: r.tables.state,
      replication: r.tables.replication,
      control: r.tables.control,
    },
  } as unknown as RegionCell & { events: EventStore; states: StateStore; snapshots: SnapshotStore };
}

/** The peer's event at `seq`, of another branch than the home's, and stronger by HLC. */
function orphanAfter(previous: EventEnvelope, over: EventEnvelope): EventEnvelope {
  const later = decodeHlc(over.hlc);
  return {
    ...over,
    eventId: ulid(),
    payload: { amount: 1_000_000 },
    origin: 'us-east-1',
    hlc: encodeHlc({ wall: later.wall + 60_000, logical: 0, region: 'us-east-1' }),
    prev: previous.hlc,
    causationId: 'orphan',
  };
}

describe('settling a fork when the home archived its oldest events', () => {
  it("keeps the home's branch from the snapshot on, and retires the peer's orphan", async () => {
    const [a, b] = [cellOf(home), cellOf(peer)];
    const topology = bank.topology('dev');
    const snapshotted = {
      ...topology,
      aggregates: topology.aggregates.map((a) =>
        a.type === 'account' ? { ...a, lifecycle: { ...a.lifecycle, snapshotEvery: SNAPSHOT_EVERY } } : a,
      ),
    };
    const deps: CommandDeps = {
      registry: createRegistry(exampleAggregates, topology),
      events: a.events,
      states: a.states,
      clock: new HybridLogicalClock({ region: 'eu-west-1' }),
      region: 'eu-west-1',
      partitions: topology.partitions,
      afterCoreAppend: snapshotWriter({ topology: snapshotted, store: a.snapshots }),
    };
    const run = (type: string, payload: Record<string, unknown>) =>
      executeCommand(deps, { aggregateType: 'account', aggregateId: 'f1', command: { type, payload } });
    await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
    for (let i = 0; i < DEPOSITS; i++) await run('Deposit', { amount: 1 });
    const history = await a.events.loadStream('account', 'f1');
    for (let i = 0; i < history.length; i += 50)
      await b.events.appendEvents(history.slice(i, i + 50), { tier: 'core' });
    await b.states.putState(foldFullLog(account, 'f1', history));
    await archiveAggregate(
      {
        events: a.events,
        snapshots: a.snapshots,
        archive: new LocalDirectoryArchive(root),
        client: home.doc,
        eventsTable: home.tables.events,
        peers: [],
        topology: { region: 'solo', regions: ['solo'] },
      },
      account,
      { aggregateId: 'f1', retentionDays: 1, now: Date.now() + 2 * DAY },
    );
    // The fork: the home writes seq 51; the peer holds another 51, later by HLC (an old home's orphan).
    await run('Deposit', { amount: 7 });
    const homeLog = await a.events.loadStream('account', 'f1');
    const orphan = orphanAfter(history.at(-1)!, homeLog.at(-1)!);
    await b.events.appendEvents([orphan], { tier: 'core' });
    const rowBefore = foldedContent((await a.states.getState('account', 'f1'))!);

    const settled = await settleCoreAggregate({
      aggregate: account,
      aggregateId: 'f1',
      cells: [a, b],
      home: 'eu-west-1',
    });
    expect(settled.queued.map((q) => q.eventId)).toEqual([orphan.eventId]);
    expect(await a.events.loadStream('account', 'f1')).toEqual(homeLog);
    expect(foldedContent((await a.states.getState('account', 'f1'))!)).toEqual(rowBefore);
    const peerLog = await b.events.loadStream('account', 'f1');
    expect(peerLog.map((e) => e.eventId)).toEqual([...history, homeLog.at(-1)!].map((e) => e.eventId));
    expect(JSON.parse((await b.states.getState('account', 'f1'))!.state).balance).toBe(DEPOSITS + 7);
  });

  it('settles a fork below the archive point from a log holding the events whole, and refuses without one', async () => {
    const [a, b] = [cellOf(home), cellOf(peer)];
    // The home holds seq 1..39 as archived stubs; the peer holds every event whole.
    expect((await a.events.loadStream('account', 'f1')).filter(isArchivedStub)).toHaveLength(ARCHIVED);
    const whole = await b.events.loadStream('account', 'f1');
    // A third region whose log forked at seq 30, below the home's archive point.
    const other = await freshRegion('ap-southeast-1', 'fork');
    const c = cellOf(other);
    const base = whole.filter((e) => e.seq < FORK_AT);
    for (let i = 0; i < base.length; i += 50)
      await c.events.appendEvents(base.slice(i, i + 50), { tier: 'core' });
    const orphan = orphanAfter(base.at(-1)!, whole[FORK_AT - 1]!);
    await c.events.appendEvents([orphan], { tier: 'core' });
    // Only the home's stubs of seq 30..39: nothing to give the third region, refused before any retire.
    await expect(
      settleCoreAggregate({ aggregate: account, aggregateId: 'f1', cells: [a, c], home: 'eu-west-1' }),
    ).rejects.toThrow(ForkBelowArchiveError);
    expect((await c.events.loadStream('account', 'f1')).at(-1)?.eventId).toBe(orphan.eventId);
    // With the peer's whole copies: the orphan is queued and the third region gets the home's branch.
    const settled = await settleCoreAggregate({
      aggregate: account,
      aggregateId: 'f1',
      cells: [a, b, c],
      home: 'eu-west-1',
    });
    expect(settled.queued.map((q) => q.eventId)).toEqual([orphan.eventId]);
    const third = await c.events.loadStream('account', 'f1');
    expect(third.map((e) => e.eventId)).toEqual(whole.map((e) => e.eventId));
    expect(third.some(isArchivedStub)).toBe(false);
    expect(JSON.parse((await c.states.getState('account', 'f1'))!.state).balance).toBe(DEPOSITS + 7);
  });
});
