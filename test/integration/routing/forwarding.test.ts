import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  fencePartition,
  movePartitionHome,
  partitionOf,
  unfencePartition,
} from '../../../lib/ownership/index.ts';
import { type Cluster, command, deposit, ENDPOINTS, openAccount, sleep, startCluster } from './cluster.ts';

let cluster: Cluster;
let redirecting: Cluster;

beforeAll(async () => {
  [cluster, redirecting] = await Promise.all([
    startCluster({
      mode: 'forward',
      forwardTimeoutMs: 1_000,
      // The slow-link test delays us-east-1 -> eu-west-1 past these 1 s timeouts (control calls cross it too).
      controlCallTimeoutMs: 1_000,
      halfOpenAfterMs: 300,
      leaseMs: 1_500,
      skewMarginMs: 1_500,
    }),
    startCluster({ mode: 'redirect' }),
  ]);
});

beforeEach(() => {
  cluster.links.heal();
});

describe('core writes outside their home', () => {
  it('homes a new partition in the region of its first write and forwards later writes there', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('fwd');
    const opened = await command(us, 'account', id, openAccount());
    expect(opened.status).toBe(200);
    expect((await us.ownership.entryFor(partitionOf(id, 256)))?.home).toBe('us-east-1');

    const forwarded = await command(eu, 'account', id, deposit(30));
    expect(forwarded.status).toBe(200);
    expect(forwarded.body.state).toMatchObject({ balance: 30 });
    expect(forwarded.headers['X-Multiactive-Region']).toBe('us-east-1');
    expect(forwarded.headers['X-Multiactive-Forwarded-By']).toBe('eu-west-1');
    expect(forwarded.headers['X-Consistency-Token']).toMatch(/\.us-east-1~2~\d+~[0-9A-Z]{26}$/);
    // Nothing was written in eu-west-1: the home is the single writer.
    expect(await eu.events.loadStream('account', id)).toEqual([]);
  });

  it('answers 307 to the home regional endpoint in redirect mode', async () => {
    const { 'us-east-1': us, 'ap-southeast-1': ap } = redirecting.cells;
    const id = redirecting.freshId('redir');
    await command(ap, 'account', id, openAccount());
    const response = await command(us, 'account', id, deposit(5));
    expect(response.status).toBe(307);
    expect(response.headers.location).toBe(`${ENDPOINTS['ap-southeast-1']}/v1/account/${id}/commands`);
    expect(response.headers['X-Multiactive-Home']).toBe('ap-southeast-1');
    expect(await us.events.loadStream('account', id)).toEqual([]);
  });

  it('answers 503 with Retry-After when the home cannot be reached, then fails fast once the breaker opens', async () => {
    const { 'eu-west-1': eu, 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('dark');
    await command(ap, 'account', id, openAccount());
    await eu.ownership.entryFor(partitionOf(id, 256)); // eu knows the home before the link goes down
    cluster.links.cut('eu-west-1', 'ap-southeast-1');
    const first = await command(eu, 'account', id, deposit(1));
    expect(first.status).toBe(503);
    expect(first.headers['Retry-After']).toMatch(/^\d+$/);
    expect(first.body).toMatchObject({
      error: 'PeerUnavailableError',
      details: { peer: 'ap-southeast-1', reason: 'unreachable' },
    });
    for (let i = 0; i < 6 && eu.breakers.for('ap-southeast-1').state === 'closed'; i++) {
      await command(eu, 'account', id, deposit(1));
    }
    expect(eu.breakers.for('ap-southeast-1').state).toBe('open');
    const calls = cluster.links.peerCalls;
    const fast = await command(eu, 'account', id, deposit(1));
    expect(fast.body).toMatchObject({ details: { reason: 'circuit-open' } });
    expect(cluster.links.peerCalls).toBe(calls); // no call left the region
    const health = await eu.call({ method: 'GET', path: '/health' });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ breakers: { service: { 'ap-southeast-1': 'open' } } });

    cluster.links.heal();
    await sleep(320);
    const recovered = await command(eu, 'account', id, deposit(2));
    expect(recovered.status).toBe(200);
    expect(eu.breakers.for('ap-southeast-1').state).toBe('closed');
  });

  it('times a slow home out with 503', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('slow');
    await command(eu, 'account', id, openAccount());
    cluster.links.delay('us-east-1', 'eu-west-1', 1_300);
    const response = await command(us, 'account', id, deposit(1));
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ details: { reason: 'timeout' } });
  });

  it('follows a home that moved while its map was cached: 421 from the old home, then the new one', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu, 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('moved');
    const partition = partitionOf(id, 256);
    await command(eu, 'account', id, openAccount());
    expect((await us.ownership.entryFor(partition))?.home).toBe('eu-west-1'); // cached in us-east-1
    await fencePartition(ap.map, partition);
    await cluster.replicate('eu-west-1', 'ap-southeast-1', 'account', id);
    await movePartitionHome(ap.map, partition, 'ap-southeast-1');
    const active = await unfencePartition(ap.map, partition);

    const calls = cluster.links.peerCalls;
    const early = await command(us, 'account', id, deposit(7));
    expect(cluster.links.peerCalls - calls).toBe(2); // the old home said 421, the new one answered
    expect(early.status).toBe(503); // the new home waits for the old home's lease to run out
    expect(early.headers['X-Multiactive-Region']).toBe('ap-southeast-1');
    expect(early.body).toMatchObject({ error: 'PartitionFencedError' });
    expect(Number(early.headers['Retry-After'])).toBeGreaterThanOrEqual(1);

    await sleep(Math.max(0, active.activeFrom - Date.now()) + 10);
    const response = await command(us, 'account', id, deposit(7));
    expect(response.body).toMatchObject({ state: { balance: 7 } });
    expect(response.status).toBe(200);
    expect(response.headers['X-Multiactive-Region']).toBe('ap-southeast-1');
    expect(response.body.state).toMatchObject({ balance: 7 });
    const stale = await command(eu, 'account', id, deposit(1), { 'X-Multiactive-Forwarded-By': 'us-east-1' });
    expect(stale.status).toBe(421);
    expect(stale.headers['X-Multiactive-Home']).toBe('ap-southeast-1');
  });

  it('forwards to a new home named by the entry the old home has just re-read, without reading the map again', async () => {
    // Issue 15: after a cooperative switchover the old home's first write re-reads the map (its cached
    // entry said "fenced, here"), finds the new home and throws NotHome. That fresh entry is what routing
    // needs: dropping it cost a second majority read per partition. Could a kept entry be stale? Then the
    // home it names answers 421 (it fences every core write) and the client retries: no write runs twice
    // or at the wrong home (the 421 test above).
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('reread');
    const partition = partitionOf(id, 256);
    expect((await command(us, 'account', id, openAccount())).status).toBe(200);
    await fencePartition(eu.map, partition);
    us.ownership.invalidate(partition);
    expect(await us.ownership.entryFor(partition)).toMatchObject({ home: 'us-east-1', state: 'fenced' });
    await cluster.replicate('us-east-1', 'eu-west-1', 'account', id);
    await movePartitionHome(eu.map, partition, 'eu-west-1');
    await unfencePartition(eu.map, partition, undefined, { sourceConfirmed: true });
    await sleep(250); // past the waiting home's re-read interval

    const read = us.map.read.bind(us.map);
    let reads = 0;
    us.map.read = (p) => {
      if (p === partition) reads++;
      return read(p);
    };
    try {
      const response = await command(us, 'account', id, deposit(4));
      expect(response.status).toBe(200);
      expect(response.headers['X-Multiactive-Region']).toBe('eu-west-1');
      expect(reads).toBe(1);
    } finally {
      us.map.read = read;
    }
  });

  it('runs a forwarded write once when the network delivers the request twice', async () => {
    const { 'us-east-1': us, 'eu-west-1': eu } = cluster.cells;
    const id = cluster.freshId('dup');
    await command(us, 'account', id, openAccount());
    cluster.links.duplicate('eu-west-1', 'us-east-1');
    for (const amount of [7, 11, 13]) {
      const answer = await command(eu, 'account', id, deposit(amount));
      expect(answer.status).toBe(200);
      expect(answer.headers['X-Multiactive-Region']).toBe('us-east-1');
    }
    await sleep(300); // the last copy's work, if any, has ended
    const stream = await us.events.loadStream('account', id);
    expect(stream.map((e) => [e.type, e.payload])).toEqual([
      ['AccountOpened', { owner: 'Ada', currency: 'EUR' }],
      ['Deposited', { amount: 7 }],
      ['Deposited', { amount: 11 }],
      ['Deposited', { amount: 13 }],
    ]);
    expect((await us.states.getState('account', id))?.state).toContain('"balance":31');
  });

  it('gives the forwarding region the stored outcome when a copy of its request ran first', async () => {
    const { 'us-east-1': us, 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('copy-first');
    await command(us, 'account', id, openAccount());
    const requestId = 'req-copy-first-1';
    const forwarded = {
      'x-multiactive-forwarded-by': 'ap-southeast-1',
      'x-multiactive-request-id': requestId,
    };
    const copy = await command(us, 'account', id, deposit(5), forwarded);
    const original = await command(us, 'account', id, deposit(5), forwarded);
    expect(original.status).toBe(200);
    expect(original.body.events).toEqual(copy.body.events);
    expect((await us.events.loadStream('account', id)).filter((e) => e.type === 'Deposited')).toHaveLength(1);
    // Without the forwarder's request id the same body is a new command (a client retry of its own).
    const fresh = await command(us, 'account', id, deposit(5), {
      'x-multiactive-forwarded-by': 'ap-southeast-1',
    });
    expect(fresh.body.events).not.toEqual(copy.body.events);
    expect(ap.name).toBe('ap-southeast-1');
  });

  it('counts requests per partition for the hot-partition report', async () => {
    const { 'ap-southeast-1': ap } = cluster.cells;
    const id = cluster.freshId('hot');
    await command(ap, 'activity', id, { type: 'AppendEntry', payload: { kind: 'x', message: 'y' } });
    expect(ap.counter.snapshot()[partitionOf(id, 256)]).toBe(1);
  });
});
