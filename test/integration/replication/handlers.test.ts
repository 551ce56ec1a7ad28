import { readFileSync } from 'node:fs';
import type { EventBridgeEvent, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { streamPoller } from '../../../bench/replication.ts';
import { createApplierHandler, createLaneHandler } from '../../../functions/applier/handler.ts';
import { createLagMonitorHandler } from '../../../functions/lag-monitor/handler.ts';
import { createPublisherHandler } from '../../../functions/publisher/handler.ts';
import { createRegistry } from '../../../lib/model/index.ts';
import {
  createBatchApplier,
  HeartbeatWriter,
  type ReplicationBus,
  type VisibilityChange,
} from '../../../lib/replication/index.ts';
import { type Cell, makeCell, testAggregates, testTopology } from './cells.ts';

const sample = JSON.parse(
  readFileSync(new URL('../../../events/samples/eventbridge-event.json', import.meta.url), 'utf8'),
) as EventBridgeEvent<string, Record<string, unknown>>;

const laneSample = JSON.parse(
  readFileSync(new URL('../../../events/samples/sqs-ordinary-lane-event.json', import.meta.url), 'utf8'),
) as SQSEvent;

let east: Cell;
let west: Cell;

beforeAll(async () => {
  east = await makeCell('us-east-1');
  west = await makeCell('eu-west-1');
});

describe('handlers', () => {
  it('the applier handler applies the detail of a real EventBridge event, once', async () => {
    const handler = createApplierHandler({ apply: west.apply });
    const event = { ...sample, detail: { ...sample.detail, hlc: sample.detail.hlc } };
    expect(await handler(event)).toMatchObject({ status: 'applied' });
    expect(await handler(event)).toMatchObject({ status: 'duplicate' });
    const row = await west.states.getState('profile', 'user-42');
    expect(JSON.parse(row!.state)).toMatchObject({ displayName: 'Ada' });
  });

  it('the lane handler applies a real SQS batch in HLC order and answers a partial batch response', async () => {
    const topology = testTopology();
    const changes: VisibilityChange[] = [];
    const handler = createLaneHandler({
      applyBatch: createBatchApplier({
        region: west.region,
        topology,
        registry: createRegistry(testAggregates, topology),
        clock: west.clock,
        events: west.events,
        states: west.states,
        watermarks: west.watermarks,
        parking: west.parking,
        quarantine: west.quarantine,
        conflicts: west.conflicts,
      }),
      visibility: async (_queue, c) => void changes.push(...c),
    });
    const poisoned: SQSEvent = {
      Records: [...laneSample.Records, { ...laneSample.Records[0]!, messageId: 'poison', body: 'not json' }],
    };
    expect(await handler(poisoned)).toEqual({ batchItemFailures: [] });
    // Delivered again (at least once): nothing is applied twice.
    expect(await handler(laneSample)).toEqual({ batchItemFailures: [] });
    const row = await west.states.getState('activity', 'log-7');
    expect(row?.version).toBe(2);
    // The second entry arrived first; the row folds them in HLC order.
    expect(JSON.parse(row!.state).recent.map((e: { message: string }) => e.message)).toEqual([
      'first',
      'second',
    ]);
    expect(await west.quarantine.count()).toBe(1);
    expect(changes).toEqual([]);
  });

  it('heartbeats travel stream -> publisher -> bus -> applier and advance the watermark (overwrite = MODIFY)', async () => {
    const poller = await streamPoller(east.db, east.db.tables.events);
    const delivered: string[] = [];
    const bus: ReplicationBus = {
      async putEvents(entries) {
        for (const entry of entries) {
          await west.apply(JSON.parse(entry.Detail));
          delivered.push(entry.DetailType);
        }
        return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
      },
    };
    const publish = createPublisherHandler({ region: 'us-east-1', bus });
    const monitor = createLagMonitorHandler({
      region: 'us-east-1',
      peers: ['eu-west-1'],
      clock: east.clock,
      heartbeats: new HeartbeatWriter({ client: east.db.doc, tableName: east.db.tables.events }),
      watermarks: east.watermarks,
      intervalMs: 10,
    });
    for (let tick = 0; tick < 2; tick++) {
      await monitor({});
      let batch = await poller.poll();
      for (let i = 0; i < 50 && batch.Records.length === 0; i++) batch = await poller.poll();
      expect(batch.Records.map((r) => r.eventName)).toEqual([tick === 0 ? 'INSERT' : 'MODIFY']);
      expect(await publish(batch)).toEqual({ batchItemFailures: [] });
    }
    expect(delivered).toEqual(['Heartbeat', 'Heartbeat']);
    const watermark = await west.watermarks.watermarkFor('us-east-1');
    expect(watermark?.hlc.endsWith('.us-east-1')).toBe(true);
    // One heartbeat row per origin, however many ticks.
    expect((await east.events.loadStream('_heartbeat', 'us-east-1')).length).toBe(1);
  });
});
