import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { account, exampleAggregates } from '../examples/bank/index.ts';
import bank from '../examples/bank/multiactive.config.ts';
import type { Topology } from '../lib/config/index.ts';
import {
  type ArchiveStore,
  archiveSweep,
  foldedContent,
  foldFullLog,
  fullHistory,
  isArchiveIndexKey,
  LocalDirectoryArchive,
  loadAggregate,
  peerWatermarks,
  SnapshotStore,
  snapshotOf,
} from '../lib/lifecycle/index.ts';
import { canonicalJson } from '../lib/model/canonical-json.ts';
import { createRegistry, type EventEnvelope } from '../lib/model/index.ts';
import { WatermarkStore } from '../lib/replication/index.ts';
import { type LocalClients, localClients } from '../lib/sandbox/dynamodb/clients.ts';
import { createTables, EventStore, isArchivedStub, StateStore, tableNames } from '../lib/store/index.ts';
import { itemMeasure } from '../lib/store/item-size.ts';
import { accountLog } from '../test/support/core-history.ts';
import { type Figure, round } from './report.ts';
import { addDifference, type LogDifference, logDifference } from './round-trip.ts';
import { seed } from './snapshots.ts';

const DAY = 86_400_000;
/** The home that archives, and its one peer (DynamoDB Local keeps one namespace per region). */
const HOME = 'us-east-1';
const PEER = 'eu-west-1';
const SNAPSHOT_EVERY = 100;
const RETENTION_DAYS = 7;
/** Each history spans this many UTC days (one archive object per aggregate and day). */
const DAYS = 5;
/** Snapshots kept per aggregate (the writer keeps the newest three). */
const SNAPSHOTS_KEPT = 3;

/** The bench's topology: the bank's `dev`, accounts with snapshots and a retention. */
function benchTopology(): Topology {
  const topology = bank.topology('dev');
  return {
    ...topology,
    aggregates: topology.aggregates.map((a) =>
      a.type === 'account'
        ? { ...a, lifecycle: { snapshotEvery: SNAPSHOT_EVERY, retentionDays: RETENTION_DAYS } }
        : a,
    ),
  };
}

/**
 * One account's history of `size` events (open + deposits), spread over `DAYS` UTC days that all end
 * before the retention horizon at `now`, chained like a home writes it.
 */
function historyOf(id: string, size: number, now: number): EventEnvelope[] {
  const horizon = Math.floor(now / DAY) * DAY - RETENTION_DAYS * DAY;
  const log: EventEnvelope[] = [];
  const perDay = Math.ceil(size / DAYS);
  for (let day = 0; day < DAYS && log.length < size; day++) {
    const count = Math.min(perDay, size - log.length) - (log.length === 0 ? 1 : 0);
    const ops = Array.from({ length: count }, (_, i) => ({
      type: 'Deposited' as const,
      amount: 1 + ((log.length + i) % 7),
    }));
    const last = log.at(-1);
    log.push(
      ...accountLog(ops, {
        aggregateId: id,
        origin: HOME,
        startWall: horizon - (DAYS + 1 - day) * DAY + 3_600_000,
        causePrefix: `day${day}`,
        ...(last ? { after: last } : {}),
      }),
    );
  }
  return log;
}

/** DynamoDB's size of every item of the events table (its own measure, `itemMeasure`) and the count. */
async function tableBytes(clients: LocalClients, table: string): Promise<{ bytes: number; items: number }> {
  let bytes = 0;
  let items = 0;
  for await (const page of paginateScan({ client: clients.doc }, { TableName: table })) {
    for (const item of page.Items ?? []) {
      bytes += itemMeasure(item).size;
      items++;
    }
  }
  return { bytes, items };
}

/** The archive as the restore reads it, counting the keys its listings return. */
class ListingCount implements ArchiveStore {
  keys = 0;
  constructor(private readonly inner: ArchiveStore) {}
  put(key: string, body: string): Promise<void> {
    return this.inner.put(key, body);
  }
  get(key: string): Promise<string | undefined> {
    return this.inner.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    const keys = await this.inner.list(prefix);
    this.keys += keys.length;
    return keys;
  }
}

async function timedMs<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await run();
  return { value, ms: performance.now() - t0 };
}

/**
 * Archive -> restore round trip on DynamoDB Local (issue 17): accounts with long logs, snapshots every
 * 100 events, a peer whose watermark and log hold every event; the region's archive pass (`archiveSweep`)
 * moves everything below the newest snapshot and before the retention horizon to a local directory, then
 * every aggregate is restored with `fullHistory` and compared with its pre-archive log event for event
 * (canonical JSON, order, count), and loaded (snapshot + tail, and a full replay from the archive).
 */
export async function runArchiveBench(options: { endpoint: string; quick?: boolean }): Promise<Figure[]> {
  // 20 x 1,000 took 3 min on the shared 2-core machine (seeding both regions ~1.5 of them): 10 x 1,000.
  const aggregates = options.quick ? 5 : 10;
  const size = options.quick ? 200 : 1_000;
  const now = Date.now();
  const env = `arch${now.toString(36)}`;
  const home = localClients(options.endpoint, HOME);
  const peer = localClients(options.endpoint, PEER);
  const root = await mkdtemp(join(tmpdir(), 'archive-bench-'));
  try {
    await createTables(home.dynamodb, env);
    await createTables(peer.dynamodb, env);
    const tables = tableNames(env);
    const events = new EventStore({ client: home.doc, tableName: tables.events });
    const snapshots = new SnapshotStore({ client: home.doc, tableName: tables.snapshots });
    const states = new StateStore({ client: home.doc, tableName: tables.state });
    const archive = new LocalDirectoryArchive(root, { app: 'bank' });
    const topology = benchTopology();

    // Seed: the home's log, snapshots (the newest three) and row; the peer's copy of the log; its watermark
    // from the home at the newest event (it applied everything).
    const ids = Array.from({ length: aggregates }, (_, i) => `arch-${String(i).padStart(3, '0')}`);
    const logs = new Map<string, EventEnvelope[]>();
    let newest = '';
    const seeding = performance.now();
    for (const id of ids) {
      const log = historyOf(id, size, now);
      logs.set(id, log);
      await Promise.all([seed(home.doc, tables.events, log), seed(peer.doc, tables.events, log)]);
      const top = Math.floor(size / SNAPSHOT_EVERY) * SNAPSHOT_EVERY;
      for (
        let v = Math.max(SNAPSHOT_EVERY, top - (SNAPSHOTS_KEPT - 1) * SNAPSHOT_EVERY);
        v <= top;
        v += SNAPSHOT_EVERY
      )
        await snapshots.put(snapshotOf(account, foldFullLog(account, id, log.slice(0, v)), log[v - 1]!));
      await states.putState(foldFullLog(account, id, log));
      if (log.at(-1)!.hlc > newest) newest = log.at(-1)!.hlc;
    }
    await new WatermarkStore({ client: peer.doc, tableName: tables.replication }).advance(
      HOME,
      newest,
      new Date(),
    );
    const seedMs = performance.now() - seeding;

    // Before: each log as the hot table holds it (must be the seeded one) and each loaded state.
    const before = new Map<string, EventEnvelope[]>();
    const stateBefore = new Map<string, string>();
    let seededDifference: LogDifference = { lost: 0, changed: 0, extra: 0 };
    for (const id of ids) {
      const hot = await events.loadStream('account', id);
      seededDifference = addDifference(seededDifference, logDifference(logs.get(id)!, hot));
      before.set(id, hot);
      const loaded = await loadAggregate({ events, snapshots }, account, id);
      stateBefore.set(id, canonicalJson(foldedContent(loaded.record)));
    }
    if (seededDifference.lost + seededDifference.changed + seededDifference.extra > 0)
      throw new Error(`the hot table does not hold the seeded logs: ${JSON.stringify(seededDifference)}`);
    const hotBefore = await tableBytes(home, tables.events);

    // The region's archive pass.
    const deps = {
      events,
      snapshots,
      archive,
      client: home.doc,
      eventsTable: tables.events,
      peers: [
        peerWatermarks({
          region: PEER,
          client: peer.doc,
          replicationTable: tables.replication,
          eventsTable: tables.events,
        }),
      ],
      topology: { region: HOME, regions: [HOME, PEER] },
    };
    const registry = createRegistry(exampleAggregates, topology);
    const pass = await timedMs(() =>
      archiveSweep(deps, { topology, registry, stateTable: tables.state, now }),
    );
    if (pass.value.failures.length > 0)
      throw new Error(`the archive pass failed for ${JSON.stringify(pass.value.failures)}`);
    const archived = pass.value.types.account?.archived ?? 0;
    // Everything below each aggregate's newest snapshot moves (its last event stays hot with the tail).
    const snapshotSeq = Math.floor(size / SNAPSHOT_EVERY) * SNAPSHOT_EVERY;
    const expectedArchived = aggregates * (snapshotSeq - 1);
    let stubs = 0;
    for (const id of ids) stubs += (await events.loadStream('account', id)).filter(isArchivedStub).length;
    const hotAfter = await tableBytes(home, tables.events);
    let archiveBytes = 0;
    // Data objects only: the per-aggregate index entries (`<type>/_by-aggregate/...`) are listed apart.
    const listed = await archive.list('account/');
    const keys = listed.filter((key) => !isArchiveIndexKey(key));
    const indexEntries = listed.length - keys.length;
    for (const key of keys) archiveBytes += Buffer.byteLength((await archive.get(key)) ?? '', 'utf8');

    // Restore every aggregate and compare with its pre-archive log.
    let difference: LogDifference = { lost: 0, changed: 0, extra: 0 };
    let restoredEvents = 0;
    const listing = new ListingCount(archive);
    const restore = await timedMs(async () => {
      for (const id of ids) {
        const restored = await fullHistory({ events, archive: listing }, 'account', id);
        restoredEvents += restored.length;
        difference = addDifference(difference, logDifference(before.get(id)!, restored));
      }
    });
    const beforeEvents = [...before.values()].reduce((n, log) => n + log.length, 0);

    // Loads after the archive equal the loads before: snapshot + tail, and a replay from the archive.
    let equalWithSnapshots = 0;
    let equalReplayed = 0;
    for (const id of ids) {
      const withSnapshot = await loadAggregate({ events, snapshots, archive }, account, id);
      if (canonicalJson(foldedContent(withSnapshot.record)) === stateBefore.get(id)) equalWithSnapshots++;
      const replayed = await loadAggregate({ events, archive }, account, id);
      if (replayed.snapshot === null && canonicalJson(foldedContent(replayed.record)) === stateBefore.get(id))
        equalReplayed++;
    }

    const lostOrChanged = difference.lost + difference.changed + difference.extra;
    const label = `${aggregates} accounts × ${size.toLocaleString('en-US')} events`;
    return [
      {
        figure: `events archived (${label}, snapshot every ${SNAPSHOT_EVERY}; all below the newest)`,
        value: archived,
        unit: 'events',
        target: `${expectedArchived.toLocaleString('en-US')}, stubbed`,
        met: archived === expectedArchived && stubs === expectedArchived,
      },
      {
        figure: 'archive pass (archiveSweep to a local directory, peer gate read)',
        value: round(archived / (pass.ms / 1000), 0),
        unit: 'events/s',
        target: 'reference',
        met: null,
      },
      {
        figure: 'archive pass wall time',
        value: round(pass.ms / 1000, 2),
        unit: 's',
        target: 'reference',
        met: null,
      },
      {
        figure: 'restore (fullHistory of every aggregate: archive + hot table)',
        value: round(restoredEvents / (restore.ms / 1000), 0),
        unit: 'events/s',
        target: 'reference',
        met: null,
      },
      {
        figure: 'archive keys listed per aggregate restored (its own index entries only)',
        value: round(listing.keys / aggregates, 1),
        unit: 'keys',
        target: `${DAYS} (one per day)`,
        met: listing.keys === aggregates * DAYS,
      },
      {
        figure: `events lost or changed in the round trip (of ${beforeEvents.toLocaleString('en-US')}; canonical JSON, order, count)`,
        value: lostOrChanged,
        unit: 'events',
        target: '0',
        met: lostOrChanged === 0 && restoredEvents === beforeEvents,
      },
      {
        figure: "seeding (both regions' logs, snapshots, rows, watermark)",
        value: round(seedMs / 1000, 1),
        unit: 's',
        target: 'reference',
        met: null,
      },
      {
        figure: 'hot events table per event, before the archive',
        value: round(hotBefore.bytes / hotBefore.items, 0),
        unit: 'bytes',
        target: 'reference',
        met: null,
      },
      {
        figure: 'hot events table per event, after (stubs + hot tail)',
        value: round(hotAfter.bytes / hotAfter.items, 0),
        unit: 'bytes',
        target: 'reference',
        met: null,
      },
      {
        figure: `archive objects written (${keys.length}, and ${indexEntries} index entries), bytes per archived event`,
        value: round(archiveBytes / Math.max(1, archived), 0),
        unit: 'bytes',
        target: 'reference',
        met: null,
      },
      {
        figure: 'loadAggregate after the archive (snapshot + tail) equal to the pre-archive state',
        value: equalWithSnapshots,
        unit: `of ${aggregates}`,
        target: 'equal (all)',
        met: equalWithSnapshots === aggregates,
      },
      {
        figure: 'loadAggregate after the archive (no snapshots: replay from the archive) equal',
        value: equalReplayed,
        unit: `of ${aggregates}`,
        target: 'equal (all)',
        met: equalReplayed === aggregates,
      },
    ];
  } finally {
    home.dynamodb.destroy();
    peer.dynamodb.destroy();
    await rm(root, { recursive: true, force: true });
  }
}
