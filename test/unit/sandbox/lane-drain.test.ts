import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { settle } from '../../../lib/sandbox/chaos/settle.ts';
import { SandboxQueues } from '../../../lib/sandbox/platform/lane-wiring.ts';
import type { SandboxRegion } from '../../../lib/sandbox/platform/region.ts';
import { LaneNotDrainedError } from '../../../lib/sandbox/sqs/index.ts';

const env = { region: 'eu-west-1', account: '111122223333' };
const template = {
  Resources: {
    Lane: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'lane', VisibilityTimeout: 60 } },
    Mapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: 'multiactive-dev-applier',
        EventSourceArn: { 'Fn::GetAtt': ['Lane', 'Arn'] },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
  },
};
const ARN = 'arn:aws:sqs:eu-west-1:111122223333:lane';

/** A region whose lane applier answers only when `release` is called (a batch stuck in flight). */
function stuckRegion(): { region: SandboxRegion; release: () => void } {
  let release = () => {};
  const answered = new Promise<SQSBatchResponse>((resolve) => {
    release = () => resolve({ batchItemFailures: [] });
  });
  const region = {
    name: 'eu-west-1',
    isDown: false,
    functions: { applierBatch: (_event: SQSEvent) => answered },
  } as unknown as SandboxRegion;
  return { region, release: () => release() };
}

describe('the ordinary lane drain a quiesce waits on', () => {
  it('names the queue and what it still held when it does not drain in time', async () => {
    const { region, release } = stuckRegion();
    const lanes = new SandboxQueues({ env: 'dev', log: () => {} });
    lanes.addRegion(region, template, env);
    lanes.queue(ARN)?.send('{"a":1}');
    lanes.queue(ARN)?.send('{"a":2}');
    lanes.start();
    try {
      const error = await lanes.drain(300).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaneNotDrainedError);
      expect((error as LaneNotDrainedError).undrained).toEqual([
        { region: 'eu-west-1', queue: 'lane', queued: 2, inFlight: 1 },
      ]);
      expect((error as Error).message).toBe(
        'Ordinary lane not drained within 300 ms (eu-west-1 lane: 2 queued, 1 batch(es) in flight)',
      );
      release();
      await expect(lanes.drain(5_000)).resolves.toBeUndefined();
    } finally {
      release();
      await lanes.stop();
    }
  });

  it('does not wait for a held region (its queue only fills)', async () => {
    const { region, release } = stuckRegion();
    const lanes = new SandboxQueues({ env: 'dev', log: () => {} });
    lanes.addRegion(region, template, env);
    lanes.hold('eu-west-1', true);
    lanes.queue(ARN)?.send('{"a":1}');
    lanes.start();
    try {
      await expect(lanes.drain(300)).resolves.toBeUndefined();
    } finally {
      release();
      await lanes.stop();
    }
  });

  it('chaos settle goes on to the checkers when the lane does not drain', async () => {
    const lines: string[] = [];
    const slow = {
      quiesce: async () => {
        throw new LaneNotDrainedError(1_000, [{ region: 'r', queue: 'q', queued: 3, inFlight: 0 }]);
      },
    };
    await expect(settle(slow, 30_000, (l) => lines.push(l))).resolves.toBeUndefined();
    expect(lines).toEqual([
      'not quiet within 30000 ms (Ordinary lane not drained within 1000 ms (r q: 3 queued, 0 batch(es) in flight)); checking anyway',
    ]);
  });

  it('waits at least the batching window for a queue that holds less than a batch (settle, not drain)', async () => {
    // Two messages, a batch of 10, a 1 s window: the mapping invokes only once the window ends, as on AWS.
    const windowed = structuredClone(template);
    Object.assign(windowed.Resources.Mapping.Properties, { MaximumBatchingWindowInSeconds: 1 });
    const applied: number[] = [];
    const region = {
      name: 'eu-west-1',
      isDown: false,
      functions: {
        applierBatch: async (event: SQSEvent): Promise<SQSBatchResponse> => {
          applied.push(event.Records.length);
          return { batchItemFailures: [] };
        },
      },
    } as unknown as SandboxRegion;
    const lanes = new SandboxQueues({ env: 'dev', log: () => {} });
    lanes.addRegion(region, windowed, env);
    lanes.queue(ARN)?.send('{"a":1}');
    lanes.queue(ARN)?.send('{"a":2}');
    lanes.start();
    try {
      // What a quiesce with 300 ms left used to do: the lane was not stuck, only inside its window.
      const early = await lanes.drain(300).catch((e: unknown) => e);
      expect(early).toBeInstanceOf(LaneNotDrainedError);
      expect((early as LaneNotDrainedError).undrained).toEqual([
        { region: 'eu-west-1', queue: 'lane', queued: 2, inFlight: 0 },
      ]);
      await expect(lanes.settle(300)).resolves.toBeUndefined();
      expect(applied).toEqual([2]);
    } finally {
      await lanes.stop();
    }
  });
});
