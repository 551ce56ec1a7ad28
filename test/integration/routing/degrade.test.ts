import { beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../lib/ownership/index.ts';
import { setRegionTraffic } from '../../../lib/resilience/index.ts';
import { type Cluster, command, openAccount, startCluster } from './cluster.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
});

const setName = (displayName: string) => ({ type: 'SetDisplayName', payload: { displayName } });

describe('degrade: the sync breaker per peer', () => {
  it('routes important writes to their home while replication from it lags, with hysteresis', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('deg');
    await command(us, 'account', id, openAccount()); // homes the partition in us-east-1
    const write = () => command(eu, 'profile', id, setName(`n${Date.now()}`));

    eu.lag['us-east-1'] = 100;
    expect((await write()).headers['X-Multiactive-Region']).toBe('eu-west-1');

    eu.lag['us-east-1'] = 8_000; // above degradeLagMs: open
    const degraded = await write();
    expect(degraded.status).toBe(200);
    expect(degraded.headers['X-Multiactive-Region']).toBe('us-east-1');
    const status = await eu.call({ method: 'GET', path: '/v1/replication/status' });
    expect(status.body).toMatchObject({ degrade: { degradedPeers: ['us-east-1'] } });
    const health = await eu.call({ method: 'GET', path: '/health' });
    expect(health.status).toBe(200); // degraded is not unhealthy
    expect(health.body).toMatchObject({
      degradedPeers: ['us-east-1'],
      breakers: { sync: { 'us-east-1': { state: 'open' } } },
    });
    expect(await eu.sync.allowsBatchSync('us-east-1')).toBe(false);

    eu.lag['us-east-1'] = 3_000; // between recoverLagMs and degradeLagMs: stays open
    expect((await write()).headers['X-Multiactive-Region']).toBe('us-east-1');

    eu.lag['us-east-1'] = 1_000; // below recoverLagMs: closes
    expect((await write()).headers['X-Multiactive-Region']).toBe('eu-west-1');
    expect(await eu.sync.allowsBatchSync('us-east-1')).toBe(true);
  });

  it('keeps accepting important writes for partitions homed elsewhere or nowhere', async () => {
    const { 'eu-west-1': eu, 'ap-southeast-1': ap } = cluster.cells;
    const homedInAp = cluster.freshId('ap');
    await command(ap, 'account', homedInAp, openAccount());
    eu.lag['us-east-1'] = 9_000;
    const elsewhere = await command(eu, 'profile', homedInAp, setName('x'));
    expect(elsewhere.headers['X-Multiactive-Region']).toBe('eu-west-1');
    const unowned = cluster.freshId('none');
    const nowhere = await command(eu, 'profile', unowned, setName('y'));
    expect(nowhere.headers['X-Multiactive-Region']).toBe('eu-west-1');
    expect(await eu.ownership.entryFor(partitionOf(unowned, 256))).toBeNull(); // important writes never claim
    eu.lag['us-east-1'] = 0;
  });
});

describe('global traffic breaker', () => {
  it('a drained region fails /health on purpose but keeps serving and applying', async () => {
    const { 'us-east-1': us, 'ap-southeast-1': ap } = cluster.cells;
    await setRegionTraffic(us.register, 'ap-southeast-1', 'drained', 'test');
    const health = await ap.call({ method: 'GET', path: '/health' });
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({
      region: 'ap-southeast-1',
      healthy: false,
      traffic: { state: 'drained' },
    });
    const id = cluster.freshId('drained');
    expect((await command(ap, 'profile', id, setName('still here'))).status).toBe(200);
    await cluster.replicate('ap-southeast-1', 'us-east-1', 'profile', id);
    expect((await us.call({ method: 'GET', path: `/v1/profile/${id}` })).status).toBe(200);

    await setRegionTraffic(ap.register, 'ap-southeast-1', 'active');
    expect((await ap.call({ method: 'GET', path: '/health' })).status).toBe(200);
    expect((await us.call({ method: 'GET', path: '/health' })).body).toMatchObject({
      healthy: true,
      traffic: { state: 'active' },
    });
  });
});
