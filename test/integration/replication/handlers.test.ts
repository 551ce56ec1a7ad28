import { readFileSync } from 'node:fs';
import type { EventBridgeEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { streamPoller } from '../../../bench/replication.ts';
import { createApplierHandler } from '../../../functions/applier/handler.ts';
import { createLagMonitorHandler } from '../../../functions/lag-monitor/handler.ts';
import { createPublisherHandler } from '../../../functions/publisher/handler.ts';
import { HeartbeatWriter, type ReplicationBus } from '../../../lib/replication/index.ts';
import { type Cell, makeCell } from './cells.ts';

const sample = JSON.parse(
  readFileSync(new URL('../../../events/samples/eventbridge-event.json', import.meta.url), 'utf8'),
) as EventBridgeEvent<string, Record<string, unknown>>;

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
