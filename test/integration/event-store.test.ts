import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  EventStore,
  EventTooLargeError,
  MAX_TRANSACTION_ITEMS,
  TooManyEventsError,
} from '../../lib/store/index.ts';
import { freshRegion, type TestRegion } from '../support/dynamo.ts';
import { sampleEnvelope } from '../support/envelopes.ts';

let region: TestRegion;
let store: EventStore;

beforeAll(async () => {
  region = await freshRegion();
  store = new EventStore({
    client: region.doc,
    tableName: region.tables.events,
    coreMarkerTableName: region.tables.replication,
    maxEventBytes: 4_096,
  });
});

describe('EventStore on DynamoDB Local', () => {
  it('lets exactly one of two concurrent writers append at the same core sequence', async () => {
    const a = sampleEnvelope({ aggregateId: 'race', seq: 1 });
    const b = sampleEnvelope({ aggregateId: 'race', seq: 1 });
    const results = await Promise.allSettled([
      store.appendEvents([a], { tier: 'core' }),
      store.appendEvents([b], { tier: 'core' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(ConcurrencyError);
    const stored = await store.loadStream('account', 'race');
    expect(stored).toHaveLength(1);
    expect([a.eventId, b.eventId]).toContain(stored[0]?.eventId);
  });

  it('treats appending the same eventId twice as a no-op', async () => {
    const event = sampleEnvelope({ aggregateId: 'idem', seq: 1 });
    expect(await store.appendEvents([event], { tier: 'core' })).toEqual({ appended: 1, duplicates: 0 });
    expect(await store.appendEvents([event], { tier: 'core' })).toEqual({ appended: 0, duplicates: 1 });
    expect(await store.loadStream('account', 'idem')).toEqual([event]);
  });

  it('treats a replayed multi-event batch as a no-op and stores only the missing part of a partial one', async () => {
    const first = sampleEnvelope({ aggregateId: 'batch', seq: 1 });
    const second = sampleEnvelope({ aggregateId: 'batch', seq: 2 });
    await store.appendEvents([first], { tier: 'core' });
    expect(await store.appendEvents([first, second], { tier: 'core' })).toEqual({
      appended: 1,
      duplicates: 1,
    });
    expect(await store.appendEvents([first, second], { tier: 'core' })).toEqual({
      appended: 0,
      duplicates: 2,
    });
    expect((await store.loadStream('account', 'batch')).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('appends the events of one command atomically: a conflict on one stores none', async () => {
    await store.appendEvents([sampleEnvelope({ aggregateId: 'atomic', seq: 2 })], { tier: 'core' });
    const batch = [1, 2, 3].map((seq) => sampleEnvelope({ aggregateId: 'atomic', seq }));
    await expect(store.appendEvents(batch, { tier: 'core' })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.loadStream('account', 'atomic')).map((e) => e.seq)).toEqual([2]);
  });

  it('loads a 1,000-event aggregate in order across pages', async () => {
    const events = Array.from({ length: 1_000 }, (_, i) =>
      sampleEnvelope({ aggregateId: 'long', seq: i + 1 }),
    );
    // Single-event appends, 25 at a time: DynamoDB Local is slow at large transactions.
    for (let i = 0; i < events.length; i += 25) {
      await Promise.all(events.slice(i, i + 25).map((e) => store.appendEvents([e], { tier: 'core' })));
    }
    const pages: number[] = [];
    for await (const page of store.pages('account', 'long', { pageSize: 128 })) pages.push(page.length);
    expect(pages.length).toBeGreaterThan(7);
    const loaded = await store.loadStream('account', 'long', { pageSize: 128 });
    expect(loaded.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
    expect(loaded.at(-1)).toEqual(events.at(-1));
  });

  it('rejects an event over the size limit with the sizes in the error', async () => {
    const big = sampleEnvelope({ aggregateId: 'big', payload: { blob: 'x'.repeat(5_000) } });
    const error = await store.appendEvents([big], { tier: 'core' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventTooLargeError);
    expect((error as EventTooLargeError).maxBytes).toBe(4_096);
    expect(await store.loadStream('account', 'big')).toEqual([]);
  });

  it('refuses more events than one transaction can hold', async () => {
    const events = Array.from({ length: MAX_TRANSACTION_ITEMS + 1 }, (_, i) =>
      sampleEnvelope({ aggregateId: 'many', seq: i + 1 }),
    );
    await expect(store.appendEvents(events, { tier: 'core' })).rejects.toBeInstanceOf(TooManyEventsError);
  });

  it('sorts important-tier events by HLC so writers in different regions never collide', async () => {
    const east = sampleEnvelope({
      aggregateType: 'profile',
      aggregateId: 'p',
      origin: 'us-east-1',
      hlc: '018bcfe56800.000000.us-east-1',
    });
    const west = sampleEnvelope({
      aggregateType: 'profile',
      aggregateId: 'p',
      origin: 'eu-west-1',
      hlc: '018bcfe56800.000000.eu-west-1',
    });
    await store.appendEvents([east], { tier: 'important' });
    await store.appendEvents([west], { tier: 'important' });
    expect((await store.loadStream('profile', 'p')).map((e) => e.origin)).toEqual(['eu-west-1', 'us-east-1']);
  });
});
