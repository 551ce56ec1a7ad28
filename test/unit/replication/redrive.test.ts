import { describe, expect, it } from 'vitest';
import {
  type ApplyOutcome,
  failedEventOf,
  isRedriveBatch,
  type QuarantineEntry,
  type RedriveRecord,
  redriveBatchItemFailures,
  redriveFailedInvocations,
  type VisibilityChange,
} from '../../../lib/replication/index.ts';

const QUEUE = 'arn:aws:sqs:eu-west-1:111111111111:multiactive-dev-applier-failures';

/** An SQS record of applier-failures holding Lambda's invocation record for the event `id`. */
function record(id: string, receives = 1, body?: string): RedriveRecord {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    eventSourceARN: QUEUE,
    attributes: { ApproximateReceiveCount: String(receives) },
    body:
      body ??
      JSON.stringify({
        version: '1.0',
        requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
        requestPayload: { id: `event-${id}`, 'detail-type': 'x', detail: { eventId: id } },
        responsePayload: { errorType: 'QuorumUnavailableError', errorMessage: 'cut off' },
      }),
  };
}

const applied: ApplyOutcome = { status: 'applied' } as ApplyOutcome;

/** The quarantine, in memory (QuarantineStore's contract: one entry per raw record). */
function memoryQuarantine(fail = false) {
  const entries: QuarantineEntry[] = [];
  return {
    entries,
    quarantine: async (entry: QuarantineEntry) => {
      if (fail) throw new Error('ProvisionedThroughputExceededException');
      entries.push(entry);
      return true;
    },
    count: async () => entries.length,
  };
}

describe('redrive of failed real-time applies (applier-failures)', () => {
  it('applies each record’s requestPayload through the given apply, in order; failures come back with a back-off by receive count', async () => {
    const seen: unknown[] = [];
    const changes: Array<[string, VisibilityChange[]]> = [];
    const report = await redriveFailedInvocations([record('a'), record('b', 3), record('c')], {
      quarantine: memoryQuarantine(),
      apply: async (event) => {
        seen.push(event.detail);
        if ((event.detail as { eventId: string }).eventId === 'b') throw new Error('throttled');
        return applied;
      },
      visibility: async (queue, c) => {
        changes.push([queue, [...c]]);
      },
    });
    expect(seen).toEqual([{ eventId: 'a' }, { eventId: 'b' }, { eventId: 'c' }]);
    expect(report.outcomes.map((o) => o.id)).toEqual(['a', 'c']);
    expect(report.failed).toEqual(['b']);
    // 2^3 s after the third receive (the lane's curve), on the record's own queue.
    expect(changes).toEqual([[QUEUE, [{ receiptHandle: 'rh-b', seconds: 8 }]]]);
    expect(redriveBatchItemFailures(report)).toEqual([{ itemIdentifier: 'b' }]);
  });

  it('hands records back untried, visible at once, when the invocation is about to time out', async () => {
    let left = 20_000;
    const changes: VisibilityChange[] = [];
    const report = await redriveFailedInvocations([record('a'), record('b'), record('c')], {
      quarantine: memoryQuarantine(),
      apply: async () => {
        left -= 10_000; // each apply takes 10 s of the invocation
        return applied;
      },
      remainingMs: () => left,
      marginMs: 15_000,
      visibility: async (_queue, c) => {
        changes.push(...c);
      },
    });
    expect(report.outcomes.map((o) => o.id)).toEqual(['a']);
    expect(report.untried).toEqual(['b', 'c']);
    expect(changes).toEqual([
      { receiptHandle: 'rh-b', seconds: 0 },
      { receiptHandle: 'rh-c', seconds: 0 },
    ]);
    expect(redriveBatchItemFailures(report).map((f) => f.itemIdentifier)).toEqual(['b', 'c']);
  });

  it('quarantines a record that holds no event (not JSON, or sent without its payload) with the reason, never applies it, and does not stop the batch', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const quarantine = memoryQuarantine();
    const counted: string[] = [];
    const withoutPayload = JSON.stringify({
      version: '1.0',
      requestContext: { condition: 'RetriesExhausted' },
    });
    const report = await redriveFailedInvocations(
      [record('bad', 1, 'not json'), record('big', 1, withoutPayload), record('ok')],
      {
        quarantine,
        metrics: { quarantined: (reason) => counted.push(reason) },
        apply: async () => applied,
        logger: { warn: (_m, d) => warnings.push(d) },
      },
    );
    expect(report.outcomes.map((o) => o.id)).toEqual(['ok']);
    expect(report.malformed).toEqual([
      { id: 'bad', reason: 'the body is not JSON' },
      { id: 'big', reason: expect.stringContaining('not a Lambda invocation record') },
    ]);
    expect(quarantine.entries).toEqual([
      expect.objectContaining({ reason: 'InvalidEnvelope', raw: 'not json' }),
      expect.objectContaining({
        reason: 'InvalidEnvelope',
        raw: JSON.parse(withoutPayload),
        message: expect.stringContaining('applier-failures record big'),
      }),
    ]);
    expect(warnings.map((w) => w.id)).toEqual(['bad', 'big']);
    expect(counted).toEqual(['InvalidEnvelope', 'InvalidEnvelope']); // QuarantinedEvents, alarmed
    // Quarantined: done with, deleted from the queue.
    expect(redriveBatchItemFailures(report)).toEqual([]);
  });

  it('a record that cannot be quarantined (the table throttles) comes back, backed off', async () => {
    const changes: VisibilityChange[] = [];
    const report = await redriveFailedInvocations([record('bad', 2, 'not json')], {
      quarantine: memoryQuarantine(true),
      apply: async () => applied,
      visibility: async (_queue, c) => {
        changes.push(...c);
      },
    });
    expect(report.failed).toEqual(['bad']);
    expect(changes).toEqual([{ receiptHandle: 'rh-bad', seconds: 4 }]);
    expect(redriveBatchItemFailures(report)).toEqual([{ itemIdentifier: 'bad' }]);
  });

  it('tells applier-failures batches from the ordinary lane’s, and reads the event out of an invocation record', () => {
    expect(isRedriveBatch([{ eventSourceARN: QUEUE }])).toBe(true);
    expect(
      isRedriveBatch([
        { eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:multiactive-dev-ordinary-lane' },
      ]),
    ).toBe(false);
    expect(isRedriveBatch([])).toBe(false);
    expect(failedEventOf(record('a').body)).toEqual({
      event: { id: 'event-a', 'detail-type': 'x', detail: { eventId: 'a' } },
    });
  });
});
