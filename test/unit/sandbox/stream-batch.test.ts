import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type BatchPolicy,
  processBatch,
  type StreamHandlerResult,
} from '../../../lib/sandbox/streams/batch.ts';
import { BatchItemFailuresError } from '../../../lib/sandbox/streams/errors.ts';

// Sequence numbers have different lengths on purpose: they must be compared as numbers, not strings.
const SEQS = ['900', '1000', '1100', '1200', '1300', '1400'];
const records = (seqs = SEQS): DynamoDBRecord[] =>
  seqs.map((s) => ({ eventID: `e${s}`, dynamodb: { SequenceNumber: s } }));
const seqs = (batch: DynamoDBRecord[]) => batch.map((r) => r.dynamodb?.SequenceNumber);

type Handler = (batch: DynamoDBRecord[]) => Promise<StreamHandlerResult>;

function harness(handler: Handler, policy: Partial<BatchPolicy> = {}) {
  const calls: Array<Array<string | undefined>> = [];
  const checkpoints: string[] = [];
  const failed: Array<{ seqs: Array<string | undefined>; error: unknown }> = [];
  const errors: unknown[] = [];
  const run = (batch = records(), withDestination = true) =>
    processBatch(
      batch,
      { maxRetries: 2, bisectOnError: false, retryDelayMs: 0, ...policy },
      {
        handler: (b) => {
          calls.push(seqs(b));
          return handler(b);
        },
        onFailure: withDestination
          ? async (b, error) => void failed.push({ seqs: seqs(b), error })
          : undefined,
        onError: (e) => void errors.push(e),
        checkpoint: (s) => void checkpoints.push(s),
        sleep: async () => true,
      },
    );
  return { calls, checkpoints, failed, errors, run };
}

const fail = (...ids: string[]): DynamoDBBatchResponse => ({
  batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
});

describe('processBatch (ReportBatchItemFailures semantics)', () => {
  it('checkpoints the last record of a successful batch', async () => {
    const h = harness(async () => undefined);
    expect(await h.run()).toBe('done');
    expect(h.calls).toHaveLength(1);
    expect(h.checkpoints).toEqual(['1400']);
  });

  it('treats an empty batchItemFailures list as success', async () => {
    const h = harness(async () => ({ batchItemFailures: [] }));
    await h.run();
    expect(h.calls).toHaveLength(1);
  });

  it('retries from the lowest failed sequence number, after checkpointing the records before it', async () => {
    let attempt = 0;
    const h = harness(async () => (attempt++ === 0 ? fail('1300', '1000') : undefined));
    await h.run();
    expect(h.calls).toEqual([SEQS, ['1000', '1100', '1200', '1300', '1400']]);
    expect(h.checkpoints).toEqual(['900', '1400']);
    expect(h.failed).toEqual([]);
  });

  it('sends the still-failing records to onFailure after maxRetries and moves on', async () => {
    const h = harness(async (b) =>
      b.some((r) => r.dynamodb?.SequenceNumber === '1200') ? fail('1200') : undefined,
    );
    await h.run();
    expect(h.calls).toHaveLength(3);
    expect(h.calls[1]).toEqual(['1200', '1300', '1400']);
    expect(h.failed).toHaveLength(1);
    expect(h.failed[0]?.seqs).toEqual(['1200', '1300', '1400']);
    expect(h.failed[0]?.error).toBeInstanceOf(BatchItemFailuresError);
    expect(h.checkpoints.at(-1)).toBe('1400');
  });

  it('retries the whole batch when the handler throws', async () => {
    const boom = new Error('boom');
    const h = harness(
      async () => {
        throw boom;
      },
      { maxRetries: 1 },
    );
    await h.run();
    expect(h.calls).toEqual([SEQS, SEQS]);
    expect(h.failed).toEqual([{ seqs: SEQS, error: boom }]);
  });

  it('treats an unknown or empty itemIdentifier as a failure of the whole batch', async () => {
    const h = harness(async () => fail(''), { maxRetries: 0 });
    await h.run();
    expect(h.failed[0]?.seqs).toEqual(SEQS);
    const unknown = harness(async () => fail('42'), { maxRetries: 0 });
    await unknown.run();
    expect(unknown.failed[0]?.seqs).toEqual(SEQS);
    expect(String(unknown.failed[0]?.error)).toMatch(/Invalid itemIdentifier/);
  });

  it('bisects a failing batch down to the poison record and delivers all others', async () => {
    const delivered: string[] = [];
    const h = harness(
      async (b) => {
        if (b.some((r) => r.dynamodb?.SequenceNumber === '1100')) throw new Error('poison');
        delivered.push(...(seqs(b) as string[]));
      },
      { bisectOnError: true, maxRetries: 1 },
    );
    await h.run();
    expect(delivered).toEqual(['900', '1000', '1200', '1300', '1400']);
    expect(h.failed.map((f) => f.seqs)).toEqual([['1100']]);
    expect(h.checkpoints.at(-1)).toBe('1400');
  });

  it('reports records it must discard when there is no onFailure destination', async () => {
    const h = harness(
      async () => {
        throw new Error('boom');
      },
      { maxRetries: 0 },
    );
    await h.run(records(), false);
    expect(h.errors).toHaveLength(1);
    expect(String(h.errors[0])).toMatch(/Discarded 6 record/);
  });

  it('returns stopped without checkpointing when the retry wait is cut short', async () => {
    const checkpoints: string[] = [];
    const outcome = await processBatch(
      records(),
      { maxRetries: 5, bisectOnError: false, retryDelayMs: 0 },
      {
        handler: async () => fail('900'),
        onError: () => {},
        checkpoint: (s) => void checkpoints.push(s),
        sleep: async () => false,
      },
    );
    expect(outcome).toBe('stopped');
    expect(checkpoints).toEqual([]);
  });
});
