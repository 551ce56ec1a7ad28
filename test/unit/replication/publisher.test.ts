import { readFileSync } from 'node:fs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createPublisherHandler } from '../../../functions/publisher/handler.ts';
import { detailTypeOf } from '../../../lib/replication/entries.ts';
import {
  type BusEntry,
  chunkEntries,
  EntryTooLargeError,
  entrySize,
  type PublishHold,
  type PutEventsOutcome,
  publishStreamRecords,
  REPLICATION_SOURCE,
  type ReplicationBus,
  toBusEntry,
} from '../../../lib/replication/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

const sample = JSON.parse(
  readFileSync(new URL('../../../events/samples/dynamodb-stream-event.json', import.meta.url), 'utf8'),
) as DynamoDBStreamEvent;

/** A bus that records calls and answers per entry with `decide` (default: accept). */
function fakeBus(decide: (entry: BusEntry, call: number) => 'ok' | string = () => 'ok') {
  const calls: BusEntry[][] = [];
  const bus: ReplicationBus = {
    async putEvents(entries): Promise<PutEventsOutcome> {
      calls.push([...entries]);
      const results = entries.map((entry) => {
        const verdict = decide(entry, calls.length);
        return verdict === 'ok'
          ? { EventId: `id-${calls.length}` }
          : { ErrorCode: verdict, ErrorMessage: `refused: ${verdict}` };
      });
      return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
    },
  };
  return { bus, calls };
}

/** Stream records like the sample's first one, for other envelopes. */
function insertRecords(count: number, payloadBytes = 10): DynamoDBRecord[] {
  const template = sample.Records[0]!;
  return Array.from({ length: count }, (_, i) => {
    const envelope = sampleEnvelope({
      aggregateId: `a${i}`,
      seq: i + 1,
      payload: { amount: 1, pad: 'x'.repeat(payloadBytes) } as never,
    });
    const image = Object.fromEntries(
      Object.entries({ pk: `account#a${i}`, sk: `SEQ#${i}`, ...envelope }).map(([k, v]) => [k, attr(v)]),
    );
    return {
      ...template,
      dynamodb: { ...template.dynamodb, NewImage: image as never, SequenceNumber: String(1000 + i) },
    };
  });
}

function attr(value: unknown): unknown {
  if (value === null) return { NULL: true };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'string') return { S: value };
  return {
    M: Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, attr(v)])),
  };
}

const noSleep = async () => undefined;

describe('publishStreamRecords', () => {
  it('publishes local-origin inserts and heartbeat overwrites, never applied events (no echo)', async () => {
    const { bus, calls } = fakeBus();
    const report = await publishStreamRecords(sample.Records, {
      region: 'us-east-1',
      bus,
      eventBusName: 'multiactive-dev-bus',
    });
    expect(report).toMatchObject({ published: 2, skipped: 1, batchItemFailures: [] });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((e) => e.DetailType)).toEqual(['DisplayNameSet', 'Heartbeat']);
    expect(calls[0]![0]).toMatchObject({ Source: REPLICATION_SOURCE, EventBusName: 'multiactive-dev-bus' });
    const detail = JSON.parse(calls[0]![0]!.Detail);
    expect(detail).not.toHaveProperty('pk');
    expect(detail).toMatchObject({
      eventId: '01JD3Q7Z8K5V2M4N6P8R0S2T4V',
      origin: 'us-east-1',
      vv: { 'us-east-1': 1 },
    });
    // In eu-west-1 the same batch is all echo: nothing to publish.
    const west = fakeBus();
    expect(
      (await publishStreamRecords(sample.Records, { region: 'eu-west-1', bus: west.bus })).published,
    ).toBe(1);
  });

  it("stamps the tier of this region's topology in the detail-type of ordinary events, for the lane rule", async () => {
    const stamped = async (tier: 'ordinary' | 'important' | undefined) => {
      const { bus, calls } = fakeBus();
      await publishStreamRecords(sample.Records, {
        region: 'us-east-1',
        bus,
        tierOf: (type) => (type === 'profile' ? tier : 'core'),
      });
      return calls[0]!.map((e) => e.DetailType);
    };
    // The heartbeat is never stamped: it is not an event of any tier.
    expect(await stamped('ordinary')).toEqual(['ordinary:DisplayNameSet', 'Heartbeat']);
    expect(await stamped('important')).toEqual(['DisplayNameSet', 'Heartbeat']);
    expect(await stamped(undefined)).toEqual(['DisplayNameSet', 'Heartbeat']);
  });

  it('leaves an ordinary type unstamped when the stamp would pass 128 characters (the real-time path takes it)', () => {
    expect(detailTypeOf({ type: 'T'.repeat(119) }, 'ordinary')).toBe(`ordinary:${'T'.repeat(119)}`);
    expect(detailTypeOf({ type: 'T'.repeat(120) }, 'ordinary')).toBe('T'.repeat(120));
  });

  it('reports only the record whose entry the bus rejected', async () => {
    const records = insertRecords(5);
    const { bus } = fakeBus((entry) =>
      JSON.parse(entry.Detail).aggregateId === 'a2' ? 'AccessDeniedException' : 'ok',
    );
    const report = await publishStreamRecords(records, { region: 'us-east-1', bus, sleep: noSleep });
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '1002' }]);
    expect(report.published).toBe(4);
    expect(report.failures[0]?.error.message).toContain('AccessDeniedException');
  });

  it('holds the events it fails to publish and releases them once published (see PublishHolds)', async () => {
    const records = insertRecords(3);
    const held = new Map<string, string>();
    const holds = {
      async hold(entries: readonly PublishHold[]) {
        for (const h of entries) held.set(h.id, h.hlc);
      },
      async release(ids: readonly string[]) {
        for (const id of ids) held.delete(id);
      },
      oldest: async () => [...held.values()].sort()[0],
    };
    const failing = fakeBus((entry) => (entry.Detail?.includes('"a1"') ? 'InternalFailure' : 'ok'));
    await publishStreamRecords(records, { region: 'us-east-1', bus: failing.bus, holds, maxAttempts: 1 });
    const refused = JSON.parse(failing.calls[0]![1]!.Detail!) as { eventId: string; hlc: string };
    expect([...held]).toEqual([[refused.eventId, refused.hlc]]);
    await publishStreamRecords([records[1]!], { region: 'us-east-1', bus: fakeBus().bus, holds });
    expect(held.size).toBe(0);
  });

  it('splits more than 10 entries into several PutEvents calls', async () => {
    const { bus, calls } = fakeBus();
    const report = await publishStreamRecords(insertRecords(23), { region: 'us-east-1', bus });
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(report.published).toBe(23);
  });

  it('fails an oversize entry with a clear reason and still sends the others', async () => {
    const records = [
      ...insertRecords(2),
      ...insertRecords(1, 5_000).map((r) => ({ ...r, dynamodb: { ...r.dynamodb, SequenceNumber: '9999' } })),
    ];
    const { bus, calls } = fakeBus();
    const report = await publishStreamRecords(records, { region: 'us-east-1', bus, maxEntryBytes: 4_096 });
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '9999' }]);
    expect(report.failures[0]?.error).toBeInstanceOf(EntryTooLargeError);
    expect(report.failures[0]?.error.message).toMatch(/EventBridge accepts at most 4096/);
    expect(calls.flat()).toHaveLength(2);
  });

  it('retries throttled entries with backoff, a bounded number of times', async () => {
    const { bus, calls } = fakeBus((entry, call) =>
      JSON.parse(entry.Detail).aggregateId === 'a0' && call < 3 ? 'ThrottlingException' : 'ok',
    );
    const delays: number[] = [];
    const report = await publishStreamRecords(insertRecords(3), {
      region: 'us-east-1',
      bus,
      sleep: async (ms) => void delays.push(ms),
      backoffMs: (attempt) => attempt * 100,
    });
    expect(report.batchItemFailures).toEqual([]);
    expect(calls.map((c) => c.length)).toEqual([3, 1, 1]);
    expect(delays).toEqual([100, 200]);
    const always = fakeBus(() => 'ThrottlingException');
    const gaveUp = await publishStreamRecords(insertRecords(1), {
      region: 'us-east-1',
      bus: always.bus,
      sleep: noSleep,
      maxAttempts: 3,
    });
    expect(always.calls).toHaveLength(3);
    expect(gaveUp.batchItemFailures).toEqual([{ itemIdentifier: '1000' }]);
  });

  it('fails the records of a call that keeps throwing', async () => {
    const bus: ReplicationBus = { putEvents: async () => Promise.reject(new Error('socket hang up')) };
    const report = await publishStreamRecords(insertRecords(2), {
      region: 'us-east-1',
      bus,
      sleep: noSleep,
      maxAttempts: 2,
    });
    expect(report.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['1000', '1001']);
  });

  it('the handler returns the partial batch response', async () => {
    const { bus } = fakeBus(() => 'ValidationException');
    const handler = createPublisherHandler({ region: 'us-east-1', bus, sleep: noSleep });
    expect(await handler(sample)).toEqual({
      batchItemFailures: [
        { itemIdentifier: '4421584500000000017450439091' },
        { itemIdentifier: '4421584700000000017450439093' },
      ],
    });
  });
});

describe('entries', () => {
  it('computes the entry size the way EventBridge does', () => {
    const entry = { Source: 'ab', DetailType: 'c', Detail: '{"é":1}', Resources: ['r'], Time: new Date() };
    expect(entrySize(entry)).toBe(14 + 2 + 1 + Buffer.byteLength('{"é":1}') + 1);
  });

  it('keeps each call under 10 entries and the byte cap', () => {
    const items = Array.from({ length: 5 }, (_, i) => ({
      entry: toBusEntry(sampleEnvelope({ seq: i + 1 })),
    }));
    const size = entrySize(items[0]!.entry);
    expect(chunkEntries(items, { maxBytes: size * 2 + 1 }).map((c) => c.length)).toEqual([2, 2, 1]);
  });
});
