import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, exampleAggregates } from '../../../examples/bank/index.ts';
import bank from '../../../examples/bank/multiactive.config.ts';
import { decodeHlc, encodeHlc, HybridLogicalClock } from '../../../lib/clock/index.ts';
import { type CommandDeps, executeCommand, quorumPeerRetirer } from '../../../lib/commands/index.ts';
import type { Topology } from '../../../lib/config/index.ts';
import { ConflictRecordStore } from '../../../lib/conflict/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import {
  ArchiveCorruptError,
  type ArchiverDeps,
  archiveAggregate,
  foldedContent,
  foldFullLog,
  fullHistory,
  HistoryIncompleteError,
  LocalDirectoryArchive,
  type PeerWatermarks,
  pastRetention,
  SnapshotStore,
  snapshotWriter,
} from '../../../lib/lifecycle/index.ts';
import { createRegistry, type EventEnvelope } from '../../../lib/model/index.ts';
import { DynamoPartitionSource } from '../../../lib/repair/index.ts';
import { WatermarkStore } from '../../../lib/replication/index.ts';
import { forkedAggregates } from '../../../lib/runbooks/heal-branches.ts';
import { type RegionCell, settleCoreAggregate } from '../../../lib/runbooks/index.ts';
import { EventStore, isArchivedStub, StateStore } from '../../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../../support/dynamo.ts';

/**
 * The adversarial review's findings over a core log whose oldest events were archived (README, Data
 * lifecycle), each shown on DynamoDB Local with the fix and, where the broken behaviour can still be
 * switched back on (lib/faults), failing under the switch.
 */
const DAY = 86_400_000;
const LATER = Date.now() + 2 * DAY;
let home: TestRegion;
let peer: TestRegion;
let root: string;

beforeAll(async () => {
  home = await freshRegion('eu-west-1', 'arch');
  peer = await freshRegion('us-east-1', 'arch');
  root = await mkdtemp(join(tmpdir(), 'archived-log-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

type Cell = RegionCell & { events: EventStore; states: StateStore; snapshots: SnapshotStore };

function cellOf(r: TestRegion, archive?: LocalDirectoryArchive): Cell {
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
    ...(archive ? { archive } : {}),
    tables: {
      client: r.doc,
      events: r.tables.events,
      state: r.tables.state,
      replication: r.tables.replication,
      control: r.tables.control,
    },
  } as unknown as Cell;
}

function topologyWith(snapshotEvery: number): Topology {
  const topology = bank.topology('dev');
  return {
    ...topology,
    aggregates: topology.aggregates.map((a) =>
      a.type === 'account' ? { ...a, lifecycle: { snapshotEvery, retentionDays: 1 } } : a,
    ),
  };
}

function commandDeps(cell: Cell, snapshotEvery = 100): CommandDeps {
  const topology = topologyWith(snapshotEvery);
  return {
    registry: createRegistry(exampleAggregates, topology),
    events: cell.events,
    states: cell.states,
    clock: new HybridLogicalClock({ region: cell.region }),
    region: cell.region,
    partitions: topology.partitions,
    afterCoreAppend: snapshotWriter({ topology, store: cell.snapshots }),
  };
}

/** Opens the account and deposits `deposits` times (1 each) at `deps`' region: 1 + deposits events. */
async function accountWith(deps: CommandDeps, id: string, deposits: number, from = 0): Promise<void> {
  const run = (type: string, payload: Record<string, unknown>, idempotencyKey?: string) =>
    executeCommand(deps, {
      aggregateType: 'account',
      aggregateId: id,
      command: { type, payload },
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
  if (from === 0) await run('OpenAccount', { owner: 'Ada', currency: 'EUR' });
  for (let i = from; i < deposits; i++) await run('Deposit', { amount: 1 });
}

function archiverOf(cell: Cell, r: TestRegion, archive: LocalDirectoryArchive, peers: PeerWatermarks[] = []) {
  const deps: ArchiverDeps = {
    events: cell.events,
    snapshots: cell.snapshots,
    archive,
    client: r.doc,
    eventsTable: r.tables.events,
    peers,
    ...(peers.length === 0 ? { topology: { region: 'solo', regions: ['solo'] } } : {}),
  };
  return (id: string) => archiveAggregate(deps, account, { aggregateId: id, retentionDays: 1, now: LATER });
}

async function copyLog(to: Cell, events: readonly EventEnvelope[]) {
  for (let i = 0; i < events.length; i += 50)
    await to.events.appendEvents(events.slice(i, i + 50), { tier: 'core' });
}

/** Another region's event at `over.seq`, chained on the same predecessor: a fork, stronger by epoch. */
function rival(over: EventEnvelope, region: string): EventEnvelope {
  const at = decodeHlc(over.hlc);
  return {
    ...over,
    eventId: ulid(),
    origin: region,
    epoch: over.epoch + 1,
    hlc: encodeHlc({ wall: at.wall + 60_000, logical: 0, region }),
    payload: { amount: 7 },
    causationId: `rival-${ulid()}`,
  };
}

describe('an archived slot stays taken (finding 3)', () => {
  it('refuses a second event at an archived seq when the home row is behind the archive point', async () => {
    const runCase = async (id: string) => {
      const cell = cellOf(home);
      const deps = commandDeps(cell, 10);
      await accountWith(deps, id, 24);
      const before = await cell.events.loadStream('account', id);
      const archive = new LocalDirectoryArchive(join(root, 'slot'));
      expect((await archiverOf(cell, home, archive)(id)).archived).toBe(19);
      // The row is put back behind the archive point (a restore, a lost row rebuilt from an old snapshot).
      const row = (await cell.states.getState('account', id))!;
      await cell.states.putStateIf(foldFullLog(account, id, before.slice(0, 10)), row);
      await executeCommand(
        { ...deps, maxAttempts: 2 },
        { aggregateType: 'account', aggregateId: id, command: { type: 'Deposit', payload: { amount: 5 } } },
      ).catch(() => undefined);
      return { history: () => fullHistory({ events: cell.events, archive }, 'account', id), before, cell };
    };
    const fixed = await runCase('slot-1');
    expect((await fixed.cell.events.loadStream('account', 'slot-1'))[10]!.eventId).toBe(
      fixed.before[10]!.eventId,
    );
    expect((await fixed.history()).map((e) => e.eventId)).toEqual(fixed.before.map((e) => e.eventId));
    // The broken build deletes archived events: seq 11 is free, a second event lands there.
    const broken = await withBug('archive-deletes-events', () => runCase('slot-2'));
    await expect(broken.history()).rejects.toThrow(ArchiveCorruptError);
  });
});

describe("Repair's Merkle leaves over an archived log (finding 4)", () => {
  it("list the stubs by eventId and still find a returning region's orphan older than the window", async () => {
    const [a, b] = [cellOf(home), cellOf(peer)];
    const deps = commandDeps(a, 10);
    await accountWith(deps, 'leaf-1', 24);
    const before = await a.events.loadStream('account', 'leaf-1');
    await copyLog(b, before);
    await archiverOf(a, home, new LocalDirectoryArchive(join(root, 'leaves')))('leaf-1');
    // The returning region's orphan at seq 26 (never replicated), and the home's own 26.
    await accountWith(deps, 'leaf-1', 25, 24);
    const homeTip = (await a.events.loadStream('account', 'leaf-1')).at(-1)!;
    await b.events.appendEvents([rival(homeTip, 'us-east-1')], { tier: 'core' });
    const past = pastRetention({ aggregates: topologyWith(10).aggregates }, () => LATER);
    const leaves = (r: TestRegion) =>
      new DynamoPartitionSource({
        client: r.doc,
        tableName: r.tables.events,
        pastRetention: past,
      }).listLeaves(before[0]!.partition);
    const mine = (list: Awaited<ReturnType<typeof leaves>>) =>
      list.filter((l) => l.aggregateKey === 'account#leaf-1');
    expect(mine(await leaves(home))).toHaveLength(26);
    expect(forkedAggregates([await leaves(home), await leaves(peer)]).has('account#leaf-1')).toBe(true);
    // The broken build leaves out events past the horizon: the orphan is never compared.
    const hidden = await withBug('merkle-skips-past-retention', async () =>
      forkedAggregates([await leaves(home), await leaves(peer)]),
    );
    expect(hidden.has('account#leaf-1')).toBe(false);
  });
});

describe("the archiver waits for every peer's watermark (finding 5)", () => {
  it('archives only what each peer has applied from its origin', async () => {
    const a = cellOf(home);
    await accountWith(commandDeps(a, 10), 'wm-1', 24);
    const log = await a.events.loadStream('account', 'wm-1');
    const marks = new WatermarkStore({ client: peer.doc, tableName: peer.tables.replication });
    const peerMarks: PeerWatermarks = {
      region: 'us-east-1',
      watermarkFor: (origin) => marks.watermarkFor(origin),
    };
    const archive = new LocalDirectoryArchive(join(root, 'watermarks'));
    // No watermark from the home yet: nothing moves.
    expect((await archiverOf(a, home, archive, [peerMarks])('wm-1')).archived).toBe(0);
    await marks.advance('eu-west-1', log[9]!.hlc, new Date());
    expect((await archiverOf(a, home, archive, [peerMarks])('wm-1')).archived).toBe(10);
    const hot = await a.events.loadStream('account', 'wm-1');
    expect(hot.filter(isArchivedStub).map((e) => e.seq)).toEqual(log.slice(0, 10).map((e) => e.seq));
    // The broken build archives up to the snapshot whatever the peers have.
    const broken = await withBug('archive-ignores-watermarks', () =>
      archiverOf(a, home, archive, [peerMarks])('wm-1'),
    );
    expect(broken.archived).toBe(9);
  });
});

describe('the archiver and a peer that parked an event its watermark passed', () => {
  it("archives nothing past the first event the peer's log does not hold", async () => {
    const [a, b] = [cellOf(home), cellOf(peer)];
    await accountWith(commandDeps(a, 10), 'wm-2', 24);
    const log = await a.events.loadStream('account', 'wm-2');
    // The peer holds seq 1..20 but 5 (parked: its heartbeats moved the watermark past it anyway).
    await copyLog(
      b,
      log.slice(0, 20).filter((e) => e.seq !== 5),
    );
    const marks = new WatermarkStore({ client: peer.doc, tableName: peer.tables.replication });
    await marks.advance('eu-west-1', log[19]!.hlc, new Date());
    const watermarkOnly: PeerWatermarks = { region: 'us-east-1', watermarkFor: (o) => marks.watermarkFor(o) };
    const withLog: PeerWatermarks = { ...watermarkOnly, logOf: (type, id) => b.events.loadStream(type, id) };
    const archive = new LocalDirectoryArchive(join(root, 'parked'));
    expect((await archiverOf(a, home, archive, [withLog])('wm-2')).archived).toBe(4);
    // The watermark alone would have let seq 5 go (the gap the README names for peers given without logOf).
    expect((await archiverOf(a, home, archive, [watermarkOnly])('wm-2')).archived).toBe(15);
  });
});

describe('a retire at a former home with no snapshot above the fork (finding 1)', () => {
  it('folds the row it leaves from the archive and settles onto the home branch', async () => {
    const archive = new LocalDirectoryArchive(join(root, 'former-home'));
    const [former, newHome] = [cellOf(home, archive), cellOf(peer)];
    const deps = commandDeps(former, 10);
    await accountWith(deps, 'fh-1', 24);
    const shared = await former.events.loadStream('account', 'fh-1');
    await copyLog(newHome, shared);
    expect((await archiverOf(former, home, archive)('fh-1')).archived).toBe(19);
    // The former home goes on alone to seq 55 (never replicated): its kept snapshots are 50, 40, 30, all
    // on the branch that loses; the new home wrote its own 26.
    await accountWith(deps, 'fh-1', 54, 24);
    const orphans = (await former.events.loadStream('account', 'fh-1')).filter((e) => e.seq > 25);
    const won = rival(orphans[0]!, 'us-east-1');
    await newHome.events.appendEvents([won], { tier: 'core' });
    await newHome.states.putState(foldFullLog(account, 'fh-1', [...shared, won]));
    const settle = () =>
      settleCoreAggregate({
        aggregate: account,
        aggregateId: 'fh-1',
        cells: [newHome, former],
        home: 'us-east-1',
      });
    // The broken build folds from the snapshots only: the retire cannot fold the row it would leave and is
    // refused, the former home stays on the retired branch.
    await expect(withBug('rebuild-ignores-archive', settle)).rejects.toThrow(HistoryIncompleteError);
    expect((await former.events.loadStream('account', 'fh-1')).at(-1)?.seq).toBe(55);

    const settled = await settle();
    expect(settled.queued).toHaveLength(30);
    const log = await former.events.loadStream('account', 'fh-1');
    expect(log.map((e) => e.eventId)).toEqual([...shared, won].map((e) => e.eventId));
    expect(foldedContent((await former.states.getState('account', 'fh-1'))!)).toEqual(
      foldedContent((await newHome.states.getState('account', 'fh-1'))!),
    );
  });
});

describe("the API's quorum-peer retire over an archived log (finding 2)", () => {
  it('folds the row from the snapshot at or above the stubs, and without one refuses rather than fold from seq 1', async () => {
    const archive = new LocalDirectoryArchive(join(root, 'quorum-peer'));
    const former = cellOf(home);
    const deps = commandDeps(former, 10);
    await accountWith(deps, 'qp-1', 24);
    expect((await archiverOf(former, home, archive)('qp-1')).archived).toBe(19);
    // The former home's branch on top (26..35, its newest snapshot 30 on it), which a newer home's quorum
    // copy retires.
    await accountWith(deps, 'qp-1', 34, 24);
    const log = await former.events.loadStream('account', 'qp-1');
    const losing = log.filter((e) => e.seq > 25);
    const kept = foldFullLog(
      account,
      'qp-1',
      (await fullHistory({ events: former.events, archive }, 'account', 'qp-1')).slice(0, 25),
    );
    const registry = deps.registry;
    const tables = {
      events: home.tables.events,
      state: home.tables.state,
      replication: home.tables.replication,
      control: home.tables.control,
    };
    const retirer = (snapshots?: string) =>
      quorumPeerRetirer({
        registry,
        peer: {
          region: 'eu-west-1',
          client: home.doc,
          tables: snapshots ? { ...tables, snapshots } : tables,
        },
        local: { region: 'us-east-1', client: peer.doc, tables: { replication: peer.tables.replication } },
      });
    const input = { losing, winning: [rival(losing[0]!, 'us-east-1')], reason: 'fork' };
    // Without the peer's snapshots (nor archive): refused, the log and row as they were (never an empty row).
    await expect(retirer()(input)).rejects.toThrow(HistoryIncompleteError);
    expect(await former.events.loadStream('account', 'qp-1')).toHaveLength(35);
    await retirer(home.tables.snapshots)(input);
    expect(await former.events.loadStream('account', 'qp-1')).toHaveLength(25);
    const row = (await former.states.getState('account', 'qp-1'))!;
    expect(foldedContent(row)).toEqual(foldedContent(kept));
    expect(JSON.parse(row.state).balance).toBe(24);
  });
});

describe('a retry of a landed write older than the kept snapshots (finding 6)', () => {
  it('is answered from the archive', async () => {
    const archive = new LocalDirectoryArchive(join(root, 'retry'));
    const cell = cellOf(home);
    const deps = commandDeps(cell, 2);
    await accountWith(deps, 'rt-1', 5);
    const retry = {
      aggregateType: 'account',
      aggregateId: 'rt-1',
      command: { type: 'Deposit', payload: { amount: 40 } },
      // The API sets the events' causationId to the client's idempotency key.
      idempotencyKey: 'retry-key-6',
      causationId: 'retry-key-6',
    };
    const first = await executeCommand(deps, retry);
    await accountWith(deps, 'rt-1', 15, 5);
    // Snapshots every 2 events: the three kept (16, 14, 12) are all after the write (seq 7).
    expect((await archiverOf(cell, home, archive)('rt-1')).archived).toBe(15);
    const answered = await executeCommand({ ...deps, snapshots: cell.snapshots, archive }, retry);
    expect(answered.events.map((e) => e.eventId)).toEqual(first.events.map((e) => e.eventId));
    expect(answered.state).toEqual(first.state);
    // The broken build does not read the archive: the fold meets the stubs and the retry is refused.
    await expect(
      withBug('rebuild-ignores-archive', () =>
        executeCommand({ ...deps, snapshots: cell.snapshots, archive }, retry),
      ),
    ).rejects.toThrow(HistoryIncompleteError);
    expect(await cell.events.loadStream('account', 'rt-1')).toHaveLength(17);
  });
});
