import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { retryChanges, retryDelaySeconds } from '../../../lib/replication/index.ts';
import { queuesOf, sqsMappingsOf } from '../../../lib/sandbox/cdk/queues.ts';
import {
  InvalidMessageContentsError,
  InvalidQueueSettingError,
  LocalQueue,
  LocalSqsMapping,
  type QueueSpec,
  type SqsMappingSpec,
} from '../../../lib/sandbox/sqs/index.ts';

const ARN = 'arn:aws:sqs:eu-west-1:111122223333:lane';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:111122223333:lane-dlq';

/** A queue and its dead-letter queue on a clock the test moves by hand. */
function queues(spec: Partial<QueueSpec> = {}) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const dlq = new LocalQueue({ arn: DLQ_ARN, name: 'lane-dlq', visibilityTimeoutMs: 30_000 }, { now });
  const queue = new LocalQueue(
    {
      arn: ARN,
      name: 'lane',
      visibilityTimeoutMs: 360_000,
      redrive: { deadLetterArn: DLQ_ARN, maxReceiveCount: 3 },
      ...spec,
    },
    { now, deadLetterQueue: (arn) => (arn === DLQ_ARN ? dlq : undefined) },
  );
  return { clock, queue, dlq, now };
}

function mappingOf(
  setup: ReturnType<typeof queues>,
  invoke: (event: SQSEvent) => Promise<unknown>,
  spec: Partial<SqsMappingSpec> = {},
) {
  return new LocalSqsMapping({
    spec: {
      functionName: 'applier',
      queueArn: ARN,
      batchSize: 4,
      maxBatchingWindowMs: 1_000,
      reportBatchItemFailures: true,
      ...spec,
    },
    queue: setup.queue,
    invoke,
    now: setup.now,
  });
}

describe('LocalQueue', () => {
  it('hides a received message for the visibility timeout, then hands it out again with a new receipt', () => {
    const { clock, queue } = queues();
    queue.send('a');
    const [first] = queue.receive(10);
    expect(first?.receiveCount).toBe(1);
    expect(queue.receive(10)).toEqual([]);
    clock.now += 359_999;
    expect(queue.receive(10)).toEqual([]);
    clock.now += 1;
    const [again] = queue.receive(10);
    expect(again).toMatchObject({ body: 'a', messageId: first?.messageId, receiveCount: 2 });
    expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
    // The stale receipt no longer deletes; the latest does.
    expect(queue.delete(first!.receiptHandle)).toBe(false);
    expect(queue.delete(again!.receiptHandle)).toBe(true);
    expect(queue.size()).toBe(0);
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue on its next receive', () => {
    const { clock, queue, dlq } = queues({ visibilityTimeoutMs: 10 });
    queue.send('poison');
    for (let i = 1; i <= 3; i++) {
      expect(queue.receive(1)[0]?.receiveCount).toBe(i);
      clock.now += 10;
    }
    expect(queue.receive(1)).toEqual([]);
    expect(queue.size()).toBe(0);
    expect(dlq.bodies()).toEqual(['poison']);
    expect(queue.stats.redriven).toBe(1);
  });

  it('hands a message out again once a shortened visibility (ChangeMessageVisibility) runs out', () => {
    const { clock, queue } = queues();
    queue.send('a');
    const [first] = queue.receive(1);
    expect(queue.changeVisibility(first!.receiptHandle, 2_000)).toBe(true);
    clock.now += 1_999;
    expect(queue.receive(1)).toEqual([]);
    clock.now += 1;
    const [again] = queue.receive(1);
    expect(again?.receiveCount).toBe(2);
    // The first receive's handle no longer changes anything.
    expect(queue.changeVisibility(first!.receiptHandle, 0)).toBe(false);
  });

  it('refuses an empty or oversized message and a redrive count SQS would not take', () => {
    const { queue } = queues();
    expect(() => queue.send('')).toThrow(InvalidMessageContentsError);
    expect(() => queue.send('x'.repeat(1024 * 1024 + 1))).toThrow(InvalidMessageContentsError);
    expect(() => queue.send('x'.repeat(1024 * 1024))).not.toThrow();
    expect(
      () =>
        new LocalQueue({
          arn: ARN,
          name: 'q',
          visibilityTimeoutMs: 1,
          redrive: { deadLetterArn: DLQ_ARN, maxReceiveCount: 0 },
        }),
    ).toThrow(InvalidQueueSettingError);
  });
});

describe('LocalSqsMapping', () => {
  it('gathers records until the batching window passes, then invokes with all of them', async () => {
    const setup = queues();
    const batches: string[][] = [];
    const mapping = mappingOf(setup, async (event) => {
      batches.push(event.Records.map((r) => r.body));
    });
    setup.queue.send('a');
    expect(await mapping.poll()).toBe('gathering');
    setup.clock.now += 500;
    setup.queue.send('b');
    expect(await mapping.poll()).toBe('gathering');
    setup.clock.now += 500;
    expect(await mapping.poll()).toBe('invoked');
    expect(batches).toEqual([['a', 'b']]);
    expect(setup.queue.size()).toBe(0);
  });

  it("runs at most the template's MaximumConcurrency batches at once", async () => {
    const setup = queues();
    const release: Array<() => void> = [];
    const mapping = mappingOf(setup, () => new Promise<void>((resolve) => release.push(resolve)), {
      batchSize: 1,
      maxConcurrency: 2,
    });
    for (const body of ['1', '2', '3']) setup.queue.send(body);
    const first = mapping.poll();
    const second = mapping.poll();
    expect(await mapping.poll()).toBe('busy');
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const done of release) done();
    expect([await first, await second]).toEqual(['invoked', 'invoked']);
    expect(mapping.busy()).toBe(0);
  });

  it('counts the records of each invocation and how long first-received records waited', async () => {
    const setup = queues();
    const mapping = mappingOf(setup, async () => ({}));
    setup.queue.send('a');
    expect(await mapping.poll()).toBe('gathering');
    setup.clock.now += 1_000;
    setup.queue.send('b');
    expect(await mapping.poll()).toBe('invoked');
    for (const body of ['1', '2', '3', '4']) setup.queue.send(body);
    expect(await mapping.poll()).toBe('invoked');
    expect(Object.fromEntries(mapping.stats.batchSizes)).toEqual({ 2: 1, 4: 1 });
    expect(mapping.stats).toMatchObject({ firstReceives: 6, firstWaitMsTotal: 1_000, firstWaitMsMax: 1_000 });
  });

  it('invokes as soon as a full batch is there, without waiting for the window', async () => {
    const setup = queues();
    const batches: number[] = [];
    const mapping = mappingOf(setup, async (event) => void batches.push(event.Records.length));
    for (const body of ['1', '2', '3', '4', '5']) setup.queue.send(body);
    expect(await mapping.poll()).toBe('invoked');
    expect(batches).toEqual([4]);
    expect(await mapping.poll()).toBe('gathering');
  });

  it('re-delivers only the records a partial batch response names, after the visibility timeout', async () => {
    const setup = queues();
    let round = 0;
    const seen: string[][] = [];
    const mapping = mappingOf(setup, async (event) => {
      seen.push(event.Records.map((r) => r.body));
      round++;
      const failed = round === 1 ? event.Records.filter((r) => r.body === 'b') : [];
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    for (const body of ['a', 'b', 'c', 'd']) setup.queue.send(body);
    expect(await mapping.poll()).toBe('failed');
    expect(setup.queue.size()).toBe(1);
    expect(await mapping.poll()).toBe('empty');
    setup.clock.now += 360_000;
    await mapping.poll();
    setup.clock.now += 1_000;
    expect(await mapping.poll()).toBe('invoked');
    expect(seen).toEqual([['a', 'b', 'c', 'd'], ['b']]);
    expect(mapping.stats).toMatchObject({ invocations: 2, failedItems: 1, failedBatches: 0 });
  });

  it('keeps the whole batch when the invocation throws or reports an id not in the batch', async () => {
    const setup = queues();
    let calls = 0;
    const mapping = mappingOf(setup, async () => {
      calls++;
      if (calls === 1) throw new Error('timeout');
      return { batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] };
    });
    for (const body of ['a', 'b', 'c', 'd']) setup.queue.send(body);
    expect(await mapping.poll()).toBe('failed');
    setup.clock.now += 360_000;
    expect(await mapping.poll()).toBe('failed');
    expect(setup.queue.size()).toBe(4);
    expect(mapping.stats.failedBatches).toBe(2);
  });

  it('ignores a partial batch response without ReportBatchItemFailures (all records succeed)', async () => {
    const setup = queues();
    const mapping = mappingOf(
      setup,
      async (event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] }),
      { reportBatchItemFailures: false },
    );
    for (const body of ['a', 'b', 'c', 'd']) setup.queue.send(body);
    expect(await mapping.poll()).toBe('invoked');
    expect(setup.queue.size()).toBe(0);
  });

  it('sends a record that keeps failing to the dead-letter queue after maxReceiveCount receives', async () => {
    const setup = queues({ visibilityTimeoutMs: 100 });
    const mapping = mappingOf(setup, async (event) => ({
      batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({
        itemIdentifier: r.messageId,
      })),
    }));
    for (const body of ['poison', 'b', 'c', 'd']) setup.queue.send(body);
    for (let i = 0; i < 10; i++) {
      await mapping.poll();
      setup.clock.now += 1_000;
    }
    expect(setup.queue.size()).toBe(0);
    expect(setup.dlq.bodies()).toEqual(['poison']);
  });

  it('checks its receives and deletes (the function role) before it touches the queue', async () => {
    const setup = queues();
    const mapping = new LocalSqsMapping({
      spec: {
        functionName: 'applier',
        queueArn: ARN,
        batchSize: 1,
        maxBatchingWindowMs: 0,
        reportBatchItemFailures: true,
      },
      queue: setup.queue,
      invoke: async () => ({}),
      now: setup.now,
      authorize: async (operation) => {
        if (operation === 'ReceiveMessage') throw new Error('AccessDeniedException');
      },
    });
    setup.queue.send('a');
    await expect(mapping.poll()).rejects.toThrow('AccessDeniedException');
    expect(setup.queue.stats.received).toBe(0);
  });

  it("runs at most the spec's MaximumConcurrency batches at once (the lane leaves the rest to core)", async () => {
    const setup = queues();
    for (let i = 0; i < 40; i++) setup.queue.send(`m${i}`);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    let most = 0;
    const mapping = mappingOf(
      setup,
      async () => {
        running++;
        most = Math.max(most, running);
        await gate;
        running--;
        return {};
      },
      { maxConcurrency: 3 },
    );
    const polls = Array.from({ length: 6 }, () => mapping.poll());
    expect(mapping.busy()).toBe(3);
    release();
    const outcomes = await Promise.all(polls);
    expect(outcomes.filter((o) => o === 'invoked')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'busy')).toHaveLength(3);
    expect(most).toBe(3);
    expect(setup.queue.size()).toBe(40 - 3 * 4);
  });

  it('refuses a MaximumConcurrency Lambda would not take (2-1,000)', () => {
    const setup = queues();
    for (const maxConcurrency of [1, 1_001, 2.5])
      expect(() => mappingOf(setup, async () => ({}), { maxConcurrency })).toThrow(InvalidQueueSettingError);
  });

  it('refuses a batch size above 10 without a batching window, as Lambda does', () => {
    expect(() => mappingOf(queues(), async () => ({}), { batchSize: 100, maxBatchingWindowMs: 0 })).toThrow(
      InvalidQueueSettingError,
    );
  });
});

describe('backing off failed lane records', () => {
  const record = (messageId: string, receives: number) => ({
    messageId,
    receiptHandle: `h-${messageId}`,
    eventSourceARN: ARN,
    attributes: { ApproximateReceiveCount: String(receives) },
  });

  it('waits 2 s after the first receive, doubling with each, at most 5 minutes', () => {
    expect([1, 2, 3, 4, 5, 9, 20].map(retryDelaySeconds)).toEqual([2, 4, 8, 16, 32, 300, 300]);
  });

  it('changes the visibility of the failed records only, per queue', () => {
    const changes = retryChanges([record('a', 1), record('b', 3), record('c', 1)], ['b', 'c']);
    expect([...changes]).toEqual([
      [
        ARN,
        [
          { receiptHandle: 'h-b', seconds: 8 },
          { receiptHandle: 'h-c', seconds: 2 },
        ],
      ],
    ]);
  });
});

describe('queues and SQS mappings of a template', () => {
  const template = {
    Resources: {
      Lane: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: 'lane',
          VisibilityTimeout: 360,
          MaximumMessageSize: 2_048,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq', 'Arn'] }, maxReceiveCount: 5 },
        },
      },
      Dlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'lane-dlq' } },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: 'multiactive-dev-applier',
          EventSourceArn: { 'Fn::GetAtt': ['Lane', 'Arn'] },
          BatchSize: 100,
          MaximumBatchingWindowInSeconds: 1,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 3 },
        },
      },
    },
  };
  const env = { region: 'eu-west-1', account: '111122223333' };

  it('reads visibility timeout, redrive and mapping settings, with SQS and Lambda defaults', () => {
    expect(queuesOf(template, env)).toEqual([
      {
        arn: ARN,
        name: 'lane',
        visibilityTimeoutMs: 360_000,
        maxMessageBytes: 2_048,
        redrive: { deadLetterArn: DLQ_ARN, maxReceiveCount: 5 },
      },
      { arn: DLQ_ARN, name: 'lane-dlq', visibilityTimeoutMs: 30_000 },
    ]);
    expect(sqsMappingsOf(template, env)).toEqual([
      {
        functionName: 'multiactive-dev-applier',
        queueArn: ARN,
        batchSize: 100,
        maxBatchingWindowMs: 1_000,
        reportBatchItemFailures: true,
        maxConcurrency: 3,
      },
    ]);
  });
});

describe('a queue of the template refuses what its MaximumMessageSize refuses', () => {
  it('takes a body up to the size and refuses a larger one with InvalidMessageContents', () => {
    const queue = new LocalQueue({
      arn: ARN,
      name: 'small',
      visibilityTimeoutMs: 30_000,
      maxMessageBytes: 2_048,
    });
    queue.send('x'.repeat(2_048));
    expect(() => queue.send('x'.repeat(2_049))).toThrow(/small accepts at most 2048 \(MaximumMessageSize\)/);
    // Without one, SQS's 1 MiB.
    const big = new LocalQueue({ arn: ARN, name: 'default', visibilityTimeoutMs: 30_000 });
    big.send('x'.repeat(1_048_576));
    expect(() => big.send('x'.repeat(1_048_577))).toThrow(/InvalidMessageContents|at most 1048576/);
    expect(
      () => new LocalQueue({ arn: ARN, name: 'bad', visibilityTimeoutMs: 0, maxMessageBytes: 2_000_000 }),
    ).toThrow(/MaximumMessageSize must be 1024-1048576/);
  });
});
