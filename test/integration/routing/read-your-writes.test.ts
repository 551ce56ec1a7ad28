import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Cluster, command, deposit, openAccount, sleep, startCluster } from './cluster.ts';

let cluster: Cluster;

beforeAll(async () => {
  // The wait must outlast a replication started 100 ms into it (four DynamoDB calls) on a loaded machine.
  cluster = await startCluster({ waitMs: 2_000 });
});

beforeEach(() => {
  cluster.links.heal();
});

const setName = (displayName: string) => ({ type: 'SetDisplayName', payload: { displayName } });
const read = (cell: Cluster['cells']['us-east-1'], type: string, id: string, token?: string) =>
  cell.call({
    method: 'GET',
    path: `/v1/${type}/${id}`,
    headers: token ? { 'x-consistency-token': token } : {},
  });

describe('read-your-writes with X-Consistency-Token', () => {
  it('reads locally without a token, even when the local copy is behind', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('stale');
    await command(us, 'profile', id, setName('Ada'));
    expect((await read(eu, 'profile', id)).status).toBe(404);
  });

  it('goes back to the origin when the write has not arrived within the wait', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('b2s');
    const write = await command(us, 'profile', id, setName('Grace'));
    const token = write.headers['X-Consistency-Token']!;
    const started = Date.now();
    const response = await read(eu, 'profile', id, token);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(response.status).toBe(200);
    expect(response.body.state).toMatchObject({ displayName: 'Grace' });
    expect(response.headers['X-Multiactive-Read-Source']).toBe('us-east-1');
    expect(response.headers['X-Multiactive-Region']).toBe('us-east-1');
  });

  it('serves locally once the write arrives during the wait', async () => {
    const { 'us-east-1': us, 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('wait');
    const token = (await command(us, 'profile', id, setName('Lin'))).headers['X-Consistency-Token']!;
    const [response] = await Promise.all([
      read(ap, 'profile', id, token),
      sleep(100).then(() => cluster.replicate('us-east-1', 'ap-southeast-1', 'profile', id)),
    ]);
    expect(response.status).toBe(200);
    expect(response.body.state).toMatchObject({ displayName: 'Lin' });
    expect(response.headers['X-Multiactive-Region']).toBe('ap-southeast-1');
    expect(response.headers['X-Multiactive-Read-Source']).toBeUndefined();
  });

  it('is not fooled by a newer concurrent write from another region (important tier)', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('concurrent');
    const token = (await command(us, 'profile', id, setName('from-us'))).headers['X-Consistency-Token']!;
    await sleep(5);
    await command(eu, 'profile', id, setName('from-eu')); // local head now has a higher HLC than the token
    const response = await read(eu, 'profile', id, token);
    expect(response.headers['X-Multiactive-Read-Source']).toBe('us-east-1');
  });

  it('uses the state head for core aggregates', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('core');
    await command(us, 'account', id, openAccount());
    const token = (await command(us, 'account', id, deposit(40))).headers['X-Consistency-Token']!;
    await cluster.replicate('us-east-1', 'eu-west-1', 'account', id);
    const response = await read(eu, 'account', id, token);
    expect(response.status).toBe(200);
    expect(response.headers['X-Multiactive-Region']).toBe('eu-west-1');
    expect(response.body.state).toMatchObject({ balance: 40 });
  });

  it('answers 503 with Retry-After when the origin is unreachable', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('dark');
    const token = (await command(us, 'profile', id, setName('Kim'))).headers['X-Consistency-Token']!;
    cluster.links.cut('eu-west-1', 'us-east-1');
    const response = await read(eu, 'profile', id, token);
    expect(response.status).toBe(503);
    expect(response.headers['Retry-After']).toMatch(/^\d+$/);
    expect(response.body).toMatchObject({
      error: 'ConsistencyUnavailableError',
      details: { origin: 'us-east-1' },
    });
  });

  it('serves the origin region locally and refuses a malformed token with 400', async () => {
    const { 'us-east-1': us } = cluster.cells;
    const id = cluster.freshId('own');
    const token = (await command(us, 'profile', id, setName('Ada'))).headers['X-Consistency-Token']!;
    expect((await read(us, 'profile', id, token)).headers['X-Multiactive-Region']).toBe('us-east-1');
    const bad = await read(us, 'profile', id, 'not-a-token');
    expect([bad.status, bad.body.error]).toEqual([400, 'InvalidConsistencyTokenError']);
  });
});
