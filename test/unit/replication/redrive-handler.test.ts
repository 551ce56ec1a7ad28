import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createRedriveHandler } from '../../../functions/applier/handler.ts';
import type { ApplyOutcome, QuarantineEntry, VisibilityChange } from '../../../lib/replication/index.ts';

const QUEUE = 'arn:aws:sqs:eu-west-1:111111111111:multiactive-dev-applier-failures';

function sqsRecord(id: string, requestPayload: unknown): SQSRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify({
      version: '1.0',
      requestContext: { condition: 'RetriesExhausted' },
      requestPayload,
    }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'lambda',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE,
    awsRegion: 'eu-west-1',
  };
}

describe('the applier Lambda on applier-failures (createRedriveHandler)', () => {
  it('applies each failed invocation’s EventBridge event as the real-time rule would (detail and the raw event), answers a partial batch response with what failed, backed off', async () => {
    const calls: Array<{ detail: unknown; raw: unknown }> = [];
    const changes: VisibilityChange[] = [];
    const quarantined: QuarantineEntry[] = [];
    const redrive = createRedriveHandler({
      apply: async (detail, raw) => {
        calls.push({ detail, raw });
        if ((detail as { n: number }).n === 2) throw new Error('QuorumUnavailableError');
        return { status: 'applied' } as ApplyOutcome;
      },
      quarantine: {
        quarantine: async (entry) => {
          quarantined.push(entry);
          return true;
        },
        count: async () => quarantined.length,
      },
      visibility: async (_queue, c) => {
        changes.push(...c);
      },
    });
    const one = { id: 'e1', 'detail-type': 'account.Opened', detail: { n: 1 } };
    const two = { id: 'e2', 'detail-type': 'account.Deposited', detail: { n: 2 } };
    const event: SQSEvent = {
      Records: [sqsRecord('m1', one), sqsRecord('m2', two), sqsRecord('m3', 'lost')],
    };
    const response = await redrive(event, { getRemainingTimeInMillis: () => 60_000 });
    expect(calls).toEqual([
      { detail: { n: 1 }, raw: one },
      { detail: { n: 2 }, raw: two },
    ]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(changes).toEqual([{ receiptHandle: 'rh-m2', seconds: 2 }]);
    expect(quarantined.map((q) => q.reason)).toEqual(['InvalidEnvelope']);
  });
});
