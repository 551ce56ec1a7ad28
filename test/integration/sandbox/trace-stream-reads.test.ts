import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { PipelineTrace, traceStreamReads } from '../../../lib/sandbox/platform/stage-trace.ts';
import { StreamPoller } from '../../../lib/sandbox/streams/poller.ts';
import { freshRegion } from '../../support/dynamo.ts';

/** The sandbox bench's call timings of the stream stage, on a real DynamoDB Local stream. */
describe('traceStreamReads', () => {
  it("times the poller's GetRecords, apart with records and empty, and nothing when untraced", async () => {
    const region = await freshRegion('us-east-1');
    const trace = new PipelineTrace();
    traceStreamReads(trace, region.streams);
    traceStreamReads(undefined, region.streams);
    let delivered = 0;
    const poller = new StreamPoller({
      streams: region.streams,
      tableArnOrStreamArn: region.tables.events,
      region: 'us-east-1',
      pollIntervalMs: 20,
      handler: async (event) => {
        delivered += event.Records.length;
        return { batchItemFailures: [] };
      },
    });
    await poller.start();
    try {
      await region.doc.send(
        new PutCommand({ TableName: region.tables.events, Item: { pk: 'trace#1', sk: 'a', n: 1 } }),
      );
      for (let i = 0; delivered === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 25));
      await poller.idle();
    } finally {
      await poller.stop();
    }
    expect(delivered).toBe(1);
    const steps = trace.steps();
    expect(steps.get('streams.GetRecords (records)')).toHaveLength(1);
    expect(steps.get('streams.GetRecords (empty)')?.length).toBeGreaterThan(0);
    expect([...steps.keys()].sort()).toEqual(['streams.GetRecords (empty)', 'streams.GetRecords (records)']);
  });
});
