import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DrainTimeoutError,
  DynamoControlReplica,
  fencePartition,
  movePartitionHome,
  NotHomeError,
  type PartitionValue,
  partitionCaughtUp,
  partitionKey,
  partitionOf,
  rehomePartition,
  StaleEpochError,
  unfencePartition,
} from '../../../lib/ownership/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';
import {
  type Cluster,
  command,
  deposit,
  openAccount,
  REGIONS,
  sleep,
  startCluster,
} from '../routing/cluster.ts';

const LEASE_MS = 300;
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ leaseMs: LEASE_MS, skewMarginMs: 50 });
});

beforeEach(() => {
  cluster.links.heal();
});

/**
 * Waits until `region`'s own copy of the partition's entry holds the fence: a register write returns once a
 * majority stored it, and the third copy may still be on its way.
 */
async function ownCopyFenced(region: (typeof REGIONS)[number], partition: number): Promise<void> {
  const { doc, tables } = cluster.cells[region].tables;
  const own = new DynamoControlReplica({ region, client: doc, tableName: tables.control });
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; await sleep(20)) {
    const copy = await own.read<PartitionValue>(partitionKey(partition));
    if (copy?.value.state === 'fenced') return;
  }
  throw new Error(`${region}'s copy of partition ${partition} never received the fence`);
}

const localCopy = (region: (typeof REGIONS)[number], partition: number) =>
  cluster.cells[region].replica.read<PartitionValue>(partitionKey(partition));

describe('partition map on a majority of control tables', () => {
  it('homes an unknown partition in the region of its first core write, on a majority', async () => {
    const id = cluster.freshId('claim');
    const partition = partitionOf(id, 256);
    expect((await command(cluster.cells['eu-west-1'], 'account', id, openAccount())).status).toBe(200);
    const copies = await Promise.all(REGIONS.map((r) => localCopy(r, partition)));
    const homes = copies.filter((c) => c?.value.home === 'eu-west-1' && c.epoch === 1);
    expect(homes.length).toBeGreaterThanOrEqual(2);
  });

  it('lets exactly one of two regions win a race for an unknown partition, and that one can write', async () => {
    for (let round = 0; round < 6; round++) {
      const id = cluster.freshId('race');
      const [a, b] = await Promise.all([
        command(cluster.cells['us-east-1'], 'account', id, openAccount('A')),
        command(cluster.cells['ap-southeast-1'], 'account', id, openAccount('B')),
      ]);
      const winners = [a, b].map((r) => r.headers['X-Multiactive-Region']);
      expect(new Set(winners).size).toBe(1); // both writes ran in the same (home) region
      expect([a.status, b.status].sort()).toEqual([200, 422]); // the second OpenAccount is refused by the domain
      const logs = await Promise.all(REGIONS.map((r) => cluster.cells[r].events.loadStream('account', id)));
      expect(logs.filter((l) => l.length > 0)).toHaveLength(1);
    }
  });

  it('stores proposals with the replica write rule in DynamoDB (one per epoch, never backwards)', async () => {
    const replica = cluster.cells['us-east-1'].replica;
    const record = (epoch: number, ballot: string) => ({ epoch, ballot, value: { n: epoch } });
    expect(await replica.write('TEST#rule', record(2, 'a'))).toBe(true);
    expect(await replica.write('TEST#rule', record(2, 'a'))).toBe(true);
    expect(await replica.write('TEST#rule', record(2, 'b'))).toBe(false);
    expect(await replica.write('TEST#rule', record(1, 'c'))).toBe(false);
    expect(await replica.write('TEST#rule', record(3, 'd'))).toBe(true);
    expect(await replica.read('TEST#rule')).toEqual(record(3, 'd'));
  });
});

describe('fencing', () => {
  it('the store rejects a core append whose epoch is older than the region knows (StaleEpochError)', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('stale');
    const partition = partitionOf(id, 256);
    await command(us, 'account', id, openAccount());
    const fence = await us.ownership.fenceCoreWrite(partition); // a valid lease: epoch + guard
    await fencePartition(eu.map, partition);
    await ownCopyFenced('us-east-1', partition);
    const event = sampleEnvelope({
      aggregateId: id,
      partition,
      seq: 2,
      epoch: fence.epoch,
      origin: 'us-east-1',
    });
    await expect(us.events.appendEvents([event], { tier: 'core', guards: fence.guards })).rejects.toThrow(
      StaleEpochError,
    );
    const refused = await command(us, 'account', id, deposit(1));
    expect([refused.status, refused.body.error]).toEqual([503, 'PartitionFencedError']);
    await unfencePartition(eu.map, partition);
  });

  it('an old home that missed the move cannot accept a core write, during the partition or after it returns', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('missed');
    const partition = partitionOf(id, 256);
    await command(us, 'account', id, openAccount());
    await cluster.replicate('us-east-1', 'eu-west-1', 'account', id); // replicated before the split
    cluster.links.isolate('us-east-1');
    // Within its lease the old home may still write: that is the window the new home waits out. (On a
    // loaded machine the 300 ms lease may already be gone: then it refuses, which is just as safe.)
    const inLease = await command(us, 'account', id, deposit(1));
    const lastOldHomeWrite = Date.now();
    expect([200, 503]).toContain(inLease.status);

    await fencePartition(eu.map, partition);
    await movePartitionHome(eu.map, partition, 'eu-west-1');
    const active = await unfencePartition(eu.map, partition);
    expect(active.activeFrom).toBeGreaterThan(lastOldHomeWrite + LEASE_MS);
    const early = await command(eu, 'account', id, deposit(5));
    expect([early.status, early.body.error]).toEqual([503, 'PartitionFencedError']);

    await sleep(LEASE_MS + 20);
    const stale = await localCopy('us-east-1', partition);
    expect(stale?.value).toMatchObject({ home: 'us-east-1', state: 'active' }); // its local copy says "mine"...
    const cutOff = await command(us, 'account', id, deposit(1));
    expect([cutOff.status, cutOff.body.error]).toEqual([503, 'QuorumUnavailableError']); // ...but no lease

    await sleep(Math.max(0, active.activeFrom - Date.now()) + 10);
    cluster.links.heal();
    const returned = await command(us, 'account', id, deposit(2)); // forwarded to the new home
    expect(returned.status).toBe(200);
    expect(returned.headers['X-Multiactive-Region']).toBe('eu-west-1');
    await expect(us.ownership.fenceCoreWrite(partition)).rejects.toThrow(NotHomeError);
    expect((await localCopy('us-east-1', partition))?.value).toMatchObject({ home: 'eu-west-1' });
    const oldHomeLog = (await us.events.loadStream('account', id)).map((e) => e.seq);
    expect(oldHomeLog).toEqual(inLease.status === 200 ? [1, 2] : [1]);
  });
});

describe('re-homing', () => {
  it('fences, waits until the target has the source events, moves and unfences', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('rehome');
    const partition = partitionOf(id, 256);
    await command(us, 'account', id, openAccount());
    await command(us, 'account', id, deposit(10));
    const catchUp = partitionCaughtUp({
      'us-east-1': { client: us.tables.doc, tableName: us.tables.tables.events },
      'eu-west-1': { client: eu.tables.doc, tableName: eu.tables.tables.events },
    });
    const [report] = await Promise.all([
      rehomePartition(eu.map, { partition, to: 'eu-west-1', catchUp, pollMs: 25, timeoutMs: 5_000 }),
      sleep(150).then(() => cluster.replicate('us-east-1', 'eu-west-1', 'account', id)),
    ]);
    expect(report).toMatchObject({ partition, from: 'us-east-1', to: 'eu-west-1' });
    expect(report.drainedInMs).toBeGreaterThanOrEqual(100);
    expect(report.epochs.active).toBeGreaterThan(report.epochs.moved);
    expect(report.epochs.moved).toBeGreaterThan(report.epochs.fenced);
    await sleep(Math.max(0, report.activeFrom - Date.now()) + 10);
    const local = await command(eu, 'account', id, deposit(5));
    expect(local.headers['X-Multiactive-Region']).toBe('eu-west-1');
    expect(local.body.state).toMatchObject({ balance: 15 });
    const viaUs = await command(us, 'account', id, deposit(1));
    expect(viaUs.headers['X-Multiactive-Region']).toBe('eu-west-1');
  });

  it('rolls back to the old home when the target does not catch up in time', async () => {
    const { 'us-east-1': us, 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('timeout');
    const partition = partitionOf(id, 256);
    await command(us, 'account', id, openAccount());
    const never = async () => false;
    await expect(
      rehomePartition(ap.map, {
        partition,
        to: 'ap-southeast-1',
        catchUp: never,
        pollMs: 20,
        timeoutMs: 100,
      }),
    ).rejects.toThrow(DrainTimeoutError);
    expect(await ap.map.read(partition)).toMatchObject({ home: 'us-east-1', state: 'active' });
  });
});
