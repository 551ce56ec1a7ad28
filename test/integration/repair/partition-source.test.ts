import { describe, expect, it } from 'vitest';
import { DynamoPartitionSource } from '../../../lib/repair/index.ts';
import { EventStore } from '../../../lib/store/index.ts';
import { freshRegion } from '../../support/dynamo.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

describe('DynamoPartitionSource on DynamoDB Local', () => {
  it('returns exactly the asked events, by point queries for a few ids and one partition query for many', async () => {
    const region = await freshRegion();
    const events = new EventStore({
      client: region.doc,
      tableName: region.tables.events,
      coreMarkerTableName: region.tables.replication,
    });
    const written = Array.from({ length: 40 }, (_, i) =>
      sampleEnvelope({ aggregateType: 'profile', aggregateId: `p-${i}`, partition: 3, seq: 1 }),
    );
    const elsewhere = sampleEnvelope({ aggregateType: 'profile', aggregateId: 'other', partition: 4 });
    for (const event of [...written, elsewhere]) await events.appendEvents([event], { tier: 'important' });
    const source = new DynamoPartitionSource({
      client: region.doc,
      tableName: region.tables.events,
      concurrency: 4,
    });
    const ids = (list: { eventId: string }[]) => list.map((e) => e.eventId).sort();

    const few = written.slice(0, 3);
    expect(ids(await source.getEvents(3, ids(few)))).toEqual(ids(few));
    const many = written.filter((_, i) => i % 2 === 0);
    const fetched = await source.getEvents(3, [...ids(many), elsewhere.eventId, 'missing-id']);
    expect(ids(fetched)).toEqual(ids(many));
    expect(fetched.find((e) => e.eventId === many[0]!.eventId)).toEqual(many[0]);
    expect((await source.listLeaves(3)).length).toBe(40);
  });
});
