import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHlc } from '../../../lib/clock/index.ts';
import type { EventEnvelope } from '../../../lib/model/index.ts';
import {
  type BusEntry,
  DynamoPublishHolds,
  HeartbeatWriter,
  lagMs,
  type PutEventsOutcome,
  publishStreamRecords,
  runLagMonitorTick,
} from '../../../lib/replication/index.ts';
import { StreamPoller } from '../../../lib/sandbox/streams/index.ts';
import { type Cell, makeCell } from './cells.ts';

const pollers: StreamPoller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

/**
 * The origin's pipeline as in AWS: its events table's stream, polled with the mapping's retry cap and an
 * on-failure destination (the stream DLQ), invoking the real publisher, whose bus delivers to the peer's
 * applier. The bus refuses the entries of the `poisoned` aggregates every time (an EventBridge internal
 * failure).
 */
async function pipeline(origin: Cell, peer: Cell, poisoned: Set<string>) {
  const holds = new DynamoPublishHolds({ client: origin.db.doc, tableName: origin.db.tables.replication });
  const bus = {
    async putEvents(entries: readonly BusEntry[]): Promise<PutEventsOutcome> {
      const results = [];
      for (const entry of entries) {
        const detail = JSON.parse(entry.Detail ?? '{}') as EventEnvelope;
        if (poisoned.has(detail.aggregateId))
          results.push({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected' });
        else {
          await peer.apply(detail);
          results.push({ EventId: detail.eventId });
        }
      }
      return { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
    },
  };
  const dlq: DynamoDBRecord[] = [];
  const publish = (records: DynamoDBRecord[]) =>
    publishStreamRecords(records, {
      region: origin.region,
      bus,
      holds,
      maxAttempts: 2,
      sleep: async () => {},
    });
  const poller = new StreamPoller({
    streams: origin.db.streams,
    tableArnOrStreamArn: origin.db.tables.events,
    region: origin.region,
    handler: async (event) => ({ batchItemFailures: (await publish(event.Records)).batchItemFailures }),
    maxRetries: 1,
    bisectOnError: true,
    pollIntervalMs: 20,
    retryDelayMs: 5,
    onFailure: async (records) => void dlq.push(...records),
  });
  pollers.push(poller);
  await poller.start();
  const heartbeat = () =>
    runLagMonitorTick({
      region: origin.region,
      peers: [peer.region],
      clock: origin.clock,
      heartbeats: new HeartbeatWriter({ client: origin.db.doc, tableName: origin.db.tables.events }),
      watermarks: origin.watermarks,
      holds,
    });
  return { poller, dlq, heartbeat, publish };
}

describe('a batch the publisher gives up on (stream DLQ) keeps every peer watermark below it', () => {
  it('heartbeats announce the oldest unpublished event: lag and the RPO window include it until redriven', async () => {
    const origin = await makeCell('us-east-1');
    const peer = await makeCell('eu-west-1');
    const run = Date.now().toString(36);
    const poisoned = new Set<string>();
    const { poller, dlq, heartbeat, publish } = await pipeline(origin, peer, poisoned);
    const opened = await origin.execute({
      aggregateType: 'account',
      aggregateId: `dlq-a-${run}`,
      command: { type: 'OpenAccount', payload: { owner: 'a', currency: 'EUR' } },
    });
    await poller.idle();
    poisoned.add(`dlq-b-${run}`);
    const lost = await origin.execute({
      aggregateType: 'account',
      aggregateId: `dlq-b-${run}`,
      command: { type: 'OpenAccount', payload: { owner: 'b', currency: 'EUR' } },
    });
    await poller.idle(); // retried, then handed to the on-failure destination, alone in its batch
    const later = await origin.execute({
      aggregateType: 'account',
      aggregateId: `dlq-c-${run}`,
      command: { type: 'OpenAccount', payload: { owner: 'c', currency: 'EUR' } },
    });
    await poller.idle();
    await heartbeat();
    await poller.idle();

    const lostHlc = lost.events[0]!.hlc;
    expect(dlq.map((r) => r.dynamodb?.NewImage?.eventId?.S)).toEqual([lost.events[0]!.eventId]);
    // The peer applied the event after it and a newer heartbeat, yet its watermark stays below the lost one.
    expect(await peer.events.loadStream('account', `dlq-c-${run}`)).toHaveLength(1);
    const mark = await peer.watermarks.watermarkFor(origin.region);
    expect(mark!.hlc < lostHlc).toBe(true);
    expect(mark!.hlc >= opened.events[0]!.hlc).toBe(true);
    expect(mark!.heldFrom).toBe(lostHlc);
    expect(lagMs(Date.now(), mark)).toBeGreaterThanOrEqual(Date.now() - decodeHlc(lostHlc).wall);
    // RPO window: what a failover now would record as at risk includes the dead-lettered event.
    const atRisk = [...opened.events, ...lost.events, ...later.events].filter((e) => e.hlc > mark!.hlc);
    expect(atRisk.map((e) => e.eventId)).toContain(lost.events[0]!.eventId);

    // Redriven from the DLQ once the bus accepts it: the hold goes, the next heartbeat frees the watermark.
    poisoned.clear();
    await publish(dlq);
    const beat = await heartbeat();
    await poller.idle();
    const freed = await peer.watermarks.watermarkFor(origin.region);
    expect(freed).toMatchObject({ hlc: beat.heartbeat.hlc });
    expect(freed!.heldFrom).toBeUndefined();
  });
});
