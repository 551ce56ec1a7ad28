import { beforeAll, describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { ReplicationWatermarks, WatermarkStore } from '../../../lib/replication/index.ts';
import { SyncBreakers } from '../../../lib/resilience/index.ts';
import { formatConsistencyToken, parseConsistencyToken, ReadYourWrites } from '../../../lib/routing/index.ts';
import { freshRegion } from '../../support/dynamo.ts';

const HERE = 'us-east-1';
const EU = 'eu-west-1';
const AP = 'ap-southeast-1';

let store: WatermarkStore;

beforeAll(async () => {
  const region = await freshRegion(HERE);
  store = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
});

const hlcAt = (wall: number, region: string) => encodeHlc({ wall, logical: 0, region });

describe('watermarks and lag from the replication table, through the routing ports', () => {
  it('opens the sync breaker of a peer whose watermark falls behind and closes it when it catches up', async () => {
    let now = 1_000_000;
    const adapter = new ReplicationWatermarks({ store, now: () => now });
    const sync = new SyncBreakers({
      peers: [EU, AP],
      lag: adapter,
      degradeLagMs: 5_000,
      recoverLagMs: 2_000,
      refreshMs: 0,
      now: () => now,
    });
    await store.advance(EU, hlcAt(now - 100, EU), new Date(now));
    await store.advance(AP, hlcAt(now - 200, AP), new Date(now));
    expect(await sync.degradedPeers()).toEqual([]);

    now += 6_000; // AP goes quiet, EU keeps up
    await store.advance(EU, hlcAt(now - 100, EU), new Date(now));
    expect(await sync.degradedPeers()).toEqual([AP]);
    expect(sync.snapshot()[AP]).toMatchObject({ state: 'open', lagMs: 6_200 });

    await store.advance(AP, hlcAt(now - 50, AP), new Date(now));
    expect(await sync.degradedPeers()).toEqual([]);
  });

  it('keeps a healthy peer closed between two heartbeats when given the heartbeat interval', async () => {
    const region = await freshRegion(HERE);
    const quiet = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    const heartbeatAt = 2_000_000;
    await quiet.advance(EU, hlcAt(heartbeatAt, EU), new Date(heartbeatAt + 40));
    const now = heartbeatAt + 5_030; // the next heartbeat is due, not yet applied
    const raw = new ReplicationWatermarks({ store: quiet, now: () => now });
    const allowing = new ReplicationWatermarks({ store: quiet, now: () => now, heartbeatIntervalMs: 5_000 });
    expect(await raw.lagMs(EU)).toBe(5_030);
    expect(await allowing.lagMs(EU)).toBe(40);
  });

  it('lets read-your-writes refuse a token beyond the watermark without reading the state', async () => {
    const adapter = new ReplicationWatermarks({ store });
    const current = await adapter.watermarkFor(EU);
    expect(current).not.toBeNull();
    const wall = Date.now() + 60_000;
    const write = { seq: 1, epoch: 1, eventId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' };
    const token = parseConsistencyToken(formatConsistencyToken({ hlc: hlcAt(wall, EU), write }));
    let stateReads = 0;
    const ryw = new ReadYourWrites({
      region: HERE,
      waitMs: 0,
      states: {
        getState: async () => {
          stateReads++;
          return { head: token.raw, seq: 1 };
        },
      },
      log: { containsEvent: async () => true, holdsCoreEvent: async () => true },
      watermarks: adapter,
    });
    const target = { aggregateType: 'account', aggregateId: 'a1', tier: 'core' as const };
    expect(await ryw.covers(target, token)).toBe(false);
    expect(stateReads).toBe(0);

    await store.advance(EU, token.raw, new Date());
    expect(await adapter.watermarkFor(EU)).toBe(token.raw);
    expect(await ryw.covers(target, token)).toBe(true);
    expect(stateReads).toBe(1);
  });
});
