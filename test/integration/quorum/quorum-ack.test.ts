import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { multiRegionDeps } from '../../../lib/api/index.ts';
import { DynamoControlReplica, InMemoryControlReplica, partitionOf } from '../../../lib/ownership/index.ts';
import type { EventStore } from '../../../lib/store/index.ts';
import { REGIONS_3, startQuorumCluster } from './quorum-cluster.ts';

const HOME = 'us-east-1';
const open = { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } };
const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

describe('multiRegionDeps and core.ack', () => {
  const wiring = (ack: 'local' | 'quorum') => {
    const topology = bank.topology('dev');
    return multiRegionDeps({
      topology: { ...topology, core: { ack } },
      region: 'us-east-1',
      controlReplicas: topology.regions.map((r) => new InMemoryControlReplica(r.name)),
      controlTable: 'control',
      events: { client: {} as never, tableName: 'events' },
      localEvents: {} as EventStore,
      states: { getState: async () => undefined },
      transport: { send: async () => ({ status: 503, headers: {}, body: '{}' }) },
      endpoints: {},
    }).api.replicateBeforeAck;
  };

  it('adds the quorum hook only for ack quorum, and refuses to guess the peers tables', () => {
    expect(wiring('local')).toBeUndefined();
    expect(() => wiring('quorum')).toThrow(/quorumPeers, or controlClients and replicationTable/);
  });
});

describe("core.ack 'quorum' through the API (three regions wired by multiRegionDeps, DynamoDB Local)", () => {
  it('answers 503 without a majority (outcome unknown) and carries that write to the peers with the next one', async () => {
    const cluster = await startQuorumCluster(REGIONS_3);
    const home = cluster.regions[HOME]!;
    const id = `qa-503-${Date.now().toString(36)}`;
    expect((await home.post('account', id, open)).status).toBe(200);
    for (const peer of ['eu-west-1', 'ap-southeast-1']) cluster.links.cutCopies(HOME, peer);
    const refused = await home.post('account', id, deposit(7));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('QuorumAckError');
    // Outcome unknown: the home's history (log and row), on no peer yet.
    expect((await home.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1, 2]);
    expect(JSON.parse((await home.states.getState('account', id))!.state)).toMatchObject({ balance: 7 });
    for (const peer of ['eu-west-1', 'ap-southeast-1'])
      expect((await cluster.regions[peer]!.events.loadStream('account', id)).map((e) => e.seq)).toEqual([1]);
    cluster.links.heal();
    const next = await home.post('account', id, deposit(5));
    expect(next.status).toBe(200);
    expect(next.body.state).toMatchObject({ balance: 12 });
    const atPeers = await Promise.all(
      ['eu-west-1', 'ap-southeast-1'].map(
        async (r) => (await cluster.regions[r]!.events.loadStream('account', id)).length,
      ),
    );
    expect(Math.max(...atPeers)).toBe(3);
  });

  it('with two regions needs both: a majority of 2 is 2, so a write the peer cannot store is refused', async () => {
    const cluster = await startQuorumCluster(['us-east-1', 'eu-west-1']);
    const home = cluster.regions[HOME]!;
    const id = `qa-two-${Date.now().toString(36)}`;
    expect((await home.post('account', id, open)).status).toBe(200);
    expect(await cluster.regions['eu-west-1']!.events.loadStream('account', id)).toHaveLength(1);
    cluster.links.cutCopies(HOME, 'eu-west-1');
    expect((await home.post('account', id, deposit(1))).status).toBe(503);
  });

  it('catches a lagging peer up from the home log when it is the one the majority needs', async () => {
    const cluster = await startQuorumCluster(REGIONS_3);
    const home = cluster.regions[HOME]!;
    const id = `qa-lag-${Date.now().toString(36)}`;
    cluster.links.cut(HOME, 'ap-southeast-1');
    expect((await home.post('account', id, open)).status).toBe(200);
    expect((await home.post('account', id, deposit(3))).status).toBe(200);
    cluster.links.heal();
    cluster.links.cut(HOME, 'eu-west-1');
    // The far peer lacks the first two events: it is given them, then the third, in order.
    expect((await home.post('account', id, deposit(4))).status).toBe(200);
    const far = await cluster.regions['ap-southeast-1']!.events.loadStream('account', id);
    expect(far.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(far.map((e) => e.eventId)).toEqual(
      (await home.events.loadStream('account', id)).map((e) => e.eventId),
    );
  });

  it('gets no majority once the survivors are sealed against its epoch (a failover collected from them)', async () => {
    const cluster = await startQuorumCluster(REGIONS_3);
    const home = cluster.regions[HOME]!;
    const id = `qa-seal-${Date.now().toString(36)}`;
    expect((await home.post('account', id, open)).status).toBe(200);
    const entry = (await home.multi.map.read(partitionOf(id, cluster.topology.partitions)))!;
    // What a Failover's CollectCopies writes to each survivor: the fenced entry, epoch + 1.
    const fenced = { epoch: entry.epoch + 1, ballot: 'failover', value: { ...entry, state: 'fenced' } };
    for (const region of ['eu-west-1', 'ap-southeast-1'])
      await new DynamoControlReplica({
        region,
        client: cluster.regions[region]!.doc,
        tableName: cluster.tables.control,
      }).write(`PARTITION#${entry.partition}`, fenced);
    const answer = await home.post('account', id, deposit(9));
    expect(answer.status).toBe(503);
    for (const region of ['eu-west-1', 'ap-southeast-1'])
      expect((await cluster.regions[region]!.events.loadStream('account', id)).map((e) => e.seq)).toEqual([
        1,
      ]);
  });
});
