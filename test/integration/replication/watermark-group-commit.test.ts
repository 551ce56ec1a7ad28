import { describe, expect, it } from 'vitest';
import { encodeHlc } from '../../../lib/clock/index.ts';
import { withBug } from '../../../lib/faults/index.ts';
import { WatermarkStore } from '../../../lib/replication/index.ts';
import { freshRegion } from '../../support/dynamo.ts';

const hlcAt = (wall: number) => encodeHlc({ wall, logical: 0, region: 'eu-west-1' });

describe('WatermarkStore group commit', () => {
  it('merges concurrent advances into few writes, ends at the maximum, and skips known-old ones', async () => {
    const region = await freshRegion('us-east-1');
    let updates = 0;
    region.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith('Update')) updates++;
        return next(args);
      },
      { step: 'initialize', name: 'countUpdates' },
    );
    const store = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    const walls = Array.from({ length: 40 }, (_, i) => 1_000 + ((i * 17) % 40));
    const results = await Promise.all(walls.map((w) => store.advance('eu-west-1', hlcAt(w), new Date())));
    expect(results.some(Boolean)).toBe(true);
    expect(updates).toBeLessThan(walls.length / 4);
    expect((await store.watermarkFor('eu-west-1'))?.hlc).toBe(hlcAt(1_039));
    const before = updates;
    expect(await store.advance('eu-west-1', hlcAt(1_010), new Date())).toBe(false);
    expect(updates).toBe(before);
    // Another writer moved it further: a stale advance from this process is refused by the condition.
    const other = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    await other.advance('eu-west-1', hlcAt(2_000), new Date());
    const refused = updates;
    expect(await store.advance('eu-west-1', hlcAt(1_500), new Date())).toBe(false);
    expect(updates).toBe(refused + 1);
    expect((await store.watermarkFor('eu-west-1'))?.hlc).toBe(hlcAt(2_000));
    // The refusal named the stored watermark (another Lambda instance's): advances below it cost nothing.
    expect(await store.advance('eu-west-1', hlcAt(1_800), new Date())).toBe(false);
    expect(updates).toBe(refused + 1);
    // A newer one is still written.
    expect(await store.advance('eu-west-1', hlcAt(2_500), new Date())).toBe(true);
    expect(updates).toBe(refused + 2);
    expect((await store.watermarkFor('eu-west-1'))?.hlc).toBe(hlcAt(2_500));
  });

  /** Advances in increasing order at once: each must find a watermark at least its own once resolved. */
  async function eachCoveredOnResolve(): Promise<void> {
    const region = await freshRegion('us-east-1');
    const store = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    const reader = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    const walls = Array.from({ length: 12 }, (_, i) => 5_000 + i);
    await Promise.all(
      walls.map(async (w) => {
        await store.advance('eu-west-1', hlcAt(w), new Date());
        const stored = await reader.watermarkFor('eu-west-1');
        expect(stored && stored.hlc >= hlcAt(w)).toBe(true);
      }),
    );
  }

  it('resolves an advance only once a watermark at least as new as its own is stored', async () => {
    await eachCoveredOnResolve();
    // The broken build: a newer advance waits for the older write in flight, and resolves uncovered.
    await expect(withBug('watermark-waits-on-older-write', eachCoveredOnResolve)).rejects.toThrow();
  });

  it('lets an advance at or below the write in flight wait for it, with no write of its own', async () => {
    const region = await freshRegion('us-east-1');
    let updates = 0;
    region.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith('Update')) updates++;
        return next(args);
      },
      { step: 'initialize', name: 'countUpdates' },
    );
    const store = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    const reader = new WatermarkStore({ client: region.doc, tableName: region.tables.replication });
    // The newest first (it goes out alone), then older ones while it is in flight (deliveries out of order).
    const walls = [3_000, 2_999, 2_500, 1_000, 3_000];
    const results = await Promise.all(walls.map((w) => store.advance('eu-west-1', hlcAt(w), new Date())));
    expect(results).toEqual([true, true, true, true, true]);
    expect(updates).toBe(1);
    expect((await reader.watermarkFor('eu-west-1'))?.hlc).toBe(hlcAt(3_000));
    // A newer one while a write is in flight still gets a write of its own, after it.
    const more = await Promise.all(
      [3_100, 3_050, 3_200].map((w) => store.advance('eu-west-1', hlcAt(w), new Date())),
    );
    expect(more).toEqual([true, true, true]);
    expect(updates).toBe(3);
    expect((await reader.watermarkFor('eu-west-1'))?.hlc).toBe(hlcAt(3_200));
  });

  it('reports a failed write to every caller merged into it', async () => {
    const region = await freshRegion('us-east-1');
    const store = new WatermarkStore({ client: region.doc, tableName: `${region.tables.replication}-gone` });
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((w) => store.advance('eu-west-1', hlcAt(w), new Date())),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });
});
