import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { exampleAggregates } from '../../events/index.ts';
import { createApiHandler, multiRegionDeps } from '../../lib/api/index.ts';
import { HybridLogicalClock } from '../../lib/clock/index.ts';
import {
  dynamoQuorumPeer,
  QuorumAckError,
  type QuorumPeer,
  quorumReplicator,
} from '../../lib/commands/index.ts';
import { loadTopology, nearestRegions } from '../../lib/config/index.ts';
import type { EventEnvelope } from '../../lib/model/index.ts';
import { createRegistry } from '../../lib/model/index.ts';
import { InMemoryControlReplica } from '../../lib/ownership/index.ts';
import { type AppendOptions, EventStore, StateStore } from '../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../support/dynamo.ts';
import { httpEvent, lambdaContext } from '../support/http.ts';

const topology = loadTopology('dev');
const registry = createRegistry(exampleAggregates, topology);

/** A peer behind a link the test can cut or slow down. */
function linkedPeer(region: TestRegion, link: { cut: boolean; delayMs: number }): QuorumPeer {
  const inner = dynamoQuorumPeer({
    region: region.region,
    client: region.doc,
    tableName: region.tables.events,
  });
  const cross = async () => {
    if (link.delayMs) await new Promise((resolve) => setTimeout(resolve, link.delayMs));
    if (link.cut) throw new Error(`link to ${region.region} is down`);
  };
  const events = Object.create(inner.events) as EventStore;
  events.appendEvents = async (envelopes: readonly EventEnvelope[], options: AppendOptions) => {
    await cross();
    return inner.events.appendEvents(envelopes, options);
  };
  return {
    region: inner.region,
    events,
    discard: async (e) => {
      await cross();
      await inner.discard(e);
    },
  };
}

async function setup(options: { orphanAfterMs?: number } = {}) {
  const [home, near, far] = await Promise.all(
    ['us-east-1', 'eu-west-1', 'ap-southeast-1'].map((r) => freshRegion(r)),
  );
  const links = { near: { cut: false, delayMs: 0 }, far: { cut: false, delayMs: 0 } };
  const store = (r: TestRegion) => new EventStore({ client: r.doc, tableName: r.tables.events });
  const local = store(home!);
  const seenAtPeerFirst: boolean[] = [];
  // The local append records whether a peer already held the events (the ack order under test).
  const localEvents = Object.create(local) as EventStore;
  localEvents.appendEvents = async (envelopes, appendOptions) => {
    const id = envelopes[0]!;
    const atPeers = await Promise.all(
      [near!, far!].map(async (r) =>
        (await store(r).loadStream(id.aggregateType, id.aggregateId)).some((e) => e.eventId === id.eventId),
      ),
    );
    seenAtPeerFirst.push(atPeers.some(Boolean));
    return local.appendEvents(envelopes, appendOptions);
  };
  const replicateBeforeAck = quorumReplicator({
    region: 'us-east-1',
    peers: [linkedPeer(near!, links.near), linkedPeer(far!, links.far)],
    local,
    timeoutMs: 300,
    ...(options.orphanAfterMs === undefined ? {} : { orphanAfterMs: options.orphanAfterMs }),
  });
  const handler = createApiHandler({
    registry,
    events: localEvents,
    states: new StateStore({ client: home!.doc, tableName: home!.tables.state }),
    clock: new HybridLogicalClock({ region: 'us-east-1' }),
    region: 'us-east-1',
    partitions: topology.partitions,
    replicateBeforeAck,
  });
  const post = async (id: string, command: unknown) => {
    const result = (await handler(
      httpEvent({ method: 'POST', path: `/v1/account/${id}/commands`, body: JSON.stringify(command) }),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    return { status: result.statusCode, headers: (result.headers ?? {}) as Record<string, string> };
  };
  return { local, near: store(near!), far: store(far!), links, post, seenAtPeerFirst };
}

const open = { type: 'OpenAccount', payload: { owner: 'Ada', currency: 'EUR' } };
const deposit = (amount: number) => ({ type: 'Deposit', payload: { amount } });

describe('multiRegionDeps and core.ack', () => {
  const wiring = (ack: 'local' | 'quorum', quorumPeers: QuorumPeer[] = []) =>
    multiRegionDeps({
      topology: { ...topology, core: { ack } },
      region: 'us-east-1',
      controlReplicas: topology.regions.map((r) => new InMemoryControlReplica(r.name)),
      controlTable: 'control',
      events: { client: {} as never, tableName: 'events' },
      localEvents: {} as EventStore,
      states: { getState: async () => undefined },
      transport: { send: async () => ({ status: 503, headers: {}, body: '{}' }) },
      endpoints: {},
      quorumPeers,
    }).api.replicateBeforeAck;

  it('adds the quorum hook only for ack quorum, trying peers nearest first', async () => {
    expect(wiring('local')).toBeUndefined();
    const tried: string[] = [];
    const down = (region: string): QuorumPeer => ({
      region,
      events: {
        appendEvents: async () => {
          tried.push(region);
          throw new Error('down');
        },
      } as never,
      discard: async () => undefined,
    });
    const hook = wiring('quorum', [down('ap-southeast-1'), down('eu-west-1')]);
    await expect(hook?.([{ aggregateId: 'x' } as EventEnvelope])).rejects.toBeInstanceOf(QuorumAckError);
    expect(tried).toEqual(nearestRegions(topology, 'us-east-1', ['eu-west-1', 'ap-southeast-1']));
  });
});

describe("core.ack 'quorum' (three regions' events tables on DynamoDB Local)", () => {
  it('refuses a core write with 503 + Retry-After and stores nothing locally when every peer is cut', async () => {
    const t = await setup();
    t.links.near.cut = true;
    t.links.far.cut = true;
    const answer = await t.post('q-cut', open);
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After'] ?? answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(await t.local.loadStream('account', 'q-cut')).toEqual([]);
  });

  it('acknowledges once one peer (the nearest reachable) holds the event, before the local append', async () => {
    const t = await setup();
    t.links.near.cut = true;
    expect((await t.post('q-one', open)).status).toBe(200);
    expect(t.seenAtPeerFirst).toEqual([true]);
    const [atFar, atHome] = await Promise.all([
      t.far.loadStream('account', 'q-one'),
      t.local.loadStream('account', 'q-one'),
    ]);
    expect(atFar.map((e) => e.eventId)).toEqual(atHome.map((e) => e.eventId));
    expect(await t.near.loadStream('account', 'q-one')).toEqual([]);
  });

  it('replaces an orphan copy left at a peer by a refused write when the aggregate is next written', async () => {
    const t = await setup({ orphanAfterMs: 0 });
    expect((await t.post('q-orphan', open)).status).toBe(200);
    // The near peer stores the copy only after the timeout; the far one is cut: 503, an orphan at near.
    t.links.near.delayMs = 500;
    t.links.far.cut = true;
    expect((await t.post('q-orphan', deposit(5))).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const orphan = (await t.near.loadStream('account', 'q-orphan'))[1]!;
    expect(orphan.seq).toBe(2);
    expect((await t.local.loadStream('account', 'q-orphan')).map((e) => e.seq)).toEqual([1]);
    t.links.near.delayMs = 0;
    expect((await t.post('q-orphan', deposit(7))).status).toBe(200);
    const [atNear, atHome] = await Promise.all([
      t.near.loadStream('account', 'q-orphan'),
      t.local.loadStream('account', 'q-orphan'),
    ]);
    expect(atNear.map((e) => e.eventId)).toEqual(atHome.map((e) => e.eventId));
    expect(atNear[1]!.eventId).not.toBe(orphan.eventId);
    expect(atNear[1]!.payload).toEqual({ amount: 7 });
  });
});
