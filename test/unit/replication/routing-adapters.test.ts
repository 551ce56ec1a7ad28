import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { peerLagMs, ReplicationWatermarks, type Watermark } from '../../../lib/replication/index.ts';

const EU = 'eu-west-1';

function watermark(origin: string, wall: number, appliedAt: number): Watermark {
  return {
    origin,
    hlc: encodeHlc({ wall, logical: 0, region: origin }),
    wall,
    appliedAt: new Date(appliedAt).toISOString(),
  };
}

/** A watermark store that counts its queries and answers when told to. */
function fakeStore(rows: Watermark[]) {
  const store = {
    queries: 0,
    list: async () => {
      store.queries++;
      return [...rows];
    },
  };
  return store;
}

describe('peerLagMs', () => {
  it('is the age of the newest watermark without a heartbeat allowance, and null before any', () => {
    expect(peerLagMs(10_000, watermark(EU, 6_000, 6_100))).toBe(4_000);
    expect(peerLagMs(10_000, undefined, 5_000)).toBeNull();
  });

  it('does not count the silence between two heartbeats of a healthy peer as lag', () => {
    // Heartbeat written at 5_000, applied 80 ms later; just before the next one arrives, it is 5_050 ms old.
    expect(peerLagMs(10_050, watermark(EU, 5_000, 5_080), 5_000)).toBe(80);
  });

  it('shows a backlog at once through the delivery delay of the newest event', () => {
    expect(peerLagMs(20_000, watermark(EU, 12_500, 19_900), 5_000)).toBe(7_400);
  });

  it('shows silence once it outlasts a heartbeat interval', () => {
    expect(peerLagMs(30_000, watermark(EU, 10_000, 10_050), 5_000)).toBe(15_000);
  });
});

describe('ReplicationWatermarks', () => {
  it('reads the newest HLC applied from an origin, null for an origin never heard from', async () => {
    const row = watermark(EU, 1_000, 1_050);
    const adapter = new ReplicationWatermarks({ store: fakeStore([row]) });
    expect(await adapter.watermarkFor(EU)).toBe(row.hlc);
    expect(await adapter.watermarkFor('ap-southeast-1')).toBeNull();
  });

  it('computes lag per peer from the watermark and the clock', async () => {
    const adapter = new ReplicationWatermarks({
      store: fakeStore([watermark(EU, 1_000, 1_050)]),
      now: () => 4_000,
    });
    expect(await adapter.lagMs(EU)).toBe(3_000);
    expect(await adapter.lagMs('ap-southeast-1')).toBeNull();
  });

  it('serves concurrent calls with one query and queries again afterwards', async () => {
    const store = fakeStore([watermark(EU, 1_000, 1_050), watermark('ap-southeast-1', 900, 990)]);
    const adapter = new ReplicationWatermarks({ store, now: () => 2_000 });
    await Promise.all([adapter.lagMs(EU), adapter.lagMs('ap-southeast-1'), adapter.watermarkFor(EU)]);
    expect(store.queries).toBe(1);
    await adapter.lagMs(EU);
    expect(store.queries).toBe(2);
  });

  it('reuses an answer for maxAgeMs', async () => {
    let now = 0;
    const store = fakeStore([watermark(EU, 1_000, 1_050)]);
    const adapter = new ReplicationWatermarks({ store, maxAgeMs: 100, now: () => now });
    await adapter.lagMs(EU);
    now = 99;
    await adapter.lagMs(EU);
    expect(store.queries).toBe(1);
    now = 100;
    await adapter.lagMs(EU);
    expect(store.queries).toBe(2);
  });

  it('does not keep a failed query', async () => {
    let fail = true;
    const adapter = new ReplicationWatermarks({
      store: {
        list: async () => {
          if (fail) throw new Error('throttled');
          return [watermark(EU, 1_000, 1_050)];
        },
      },
      maxAgeMs: 60_000,
    });
    await expect(adapter.watermarkFor(EU)).rejects.toThrow('throttled');
    fail = false;
    expect(await adapter.watermarkFor(EU)).not.toBeNull();
  });
});
