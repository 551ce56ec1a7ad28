import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withBug } from '../../../lib/faults/index.ts';
import { refusalOf, runsOf } from '../../../lib/replication/lane-runs.ts';
import { DYNAMODB_LIMITS, itemMeasure } from '../../../lib/store/item-size.ts';
import { toEventItem } from '../../../lib/store/marshal.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

/** The item's bytes in the request, as the SDK writes them (an independent measure of the wire size). */
const sdkWireBytes = (item: Record<string, unknown>) =>
  Buffer.byteLength(JSON.stringify(marshall(item, { removeUndefinedValues: true })));

/** One ordinary event of a numeric series: ~241 KB of JSON, ~1.2 MB in DynamoDB JSON. */
const seriesEvent = (i: number) =>
  sampleEnvelope({
    aggregateType: 'series',
    aggregateId: 'series-1',
    type: 'Recorded',
    seq: i + 1,
    payload: { points: Array.from({ length: 120_000 }, () => 1) },
  });

describe('DynamoDB measures of an item', () => {
  it("counts the request bytes of any JSON item exactly as the SDK's DynamoDB JSON has them", () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.double({ noNaN: true, min: -1e15, max: 1e15 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(fc.stringMatching(/^[a-zA-Z_é]{1,8}$/), tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-zA-Z_é]{1,8}$/), json, { maxKeys: 6 }), (item) => {
        const sdk = sdkWireBytes(item);
        const ours = itemMeasure(item).wire;
        expect(ours).toBe(sdk);
      }),
      // CI found the old bound (16 bytes a top-level key) too tight for nested empty maps: seed -416182630.
      { numRuns: 500, examples: [[{ a: { A: { a: {} }, _A: { a: [''] }, a: { é: { é: '' } } } }]] },
    );
  });

  it('counts a numeric list at least as DynamoDB does, within 10% (an upper bound)', () => {
    // DynamoDB Local reported 13 of these events (as items) at 4,325,136 bytes: ~332.7 KB each; we count
    // 3 bytes an element (1 + 1 per two significant digits, + 1 as a list element), ~360 KB.
    const size = itemMeasure(toEventItem('ordinary', seriesEvent(0))).size;
    expect(size).toBeGreaterThanOrEqual(4_325_136 / 13);
    expect(size).toBeLessThan((4_325_136 / 13) * 1.1);
  });
});

describe('runs of the ordinary lane', () => {
  const events = Array.from({ length: 14 }, (_, i) => seriesEvent(i));

  /** Each run's items and request bytes, measured independently of the lane's arithmetic for the wire. */
  function check(runs: ReturnType<typeof runsOf>) {
    expect(runs.flat().map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    for (const run of runs) {
      const items = run.map((e) => toEventItem('ordinary', e));
      const size = items.reduce((sum, item) => sum + itemMeasure(item).size, 0);
      const wire = items.reduce((sum, item) => sum + sdkWireBytes(item), 0);
      // Room left for the projection row (up to 400 KB, at most ~4 MB on the wire) under both limits.
      expect(size + DYNAMODB_LIMITS.itemBytes).toBeLessThanOrEqual(DYNAMODB_LIMITS.transactBytes);
      expect(wire + 10 * DYNAMODB_LIMITS.itemBytes).toBeLessThanOrEqual(DYNAMODB_LIMITS.requestBytes);
      expect(run.length + 1).toBeLessThanOrEqual(DYNAMODB_LIMITS.transactItems);
    }
  }

  it('cuts numeric payloads under the 4 MB of items and the 16 MB request, in order', () => {
    check(runsOf('ordinary', events));
  });

  it('is caught when runs are sized by JSON length (bug switch lane-runs-by-json)', async () => {
    await expect(
      withBug('lane-runs-by-json', async () => check(runsOf('ordinary', events))),
    ).rejects.toThrow();
  });
});

/** An SDK service error as the client throws it. */
function serviceError(name: string, status: number | undefined, extra: object = {}): Error {
  const error = Object.assign(
    new Error(name),
    extra,
    status === undefined ? {} : { $metadata: { httpStatusCode: status } },
  );
  error.name = name;
  return error;
}

describe('refusals of a run request', () => {
  const refused = () => [
    refusalOf(serviceError('ValidationException', 400)),
    refusalOf(serviceError('UnknownError', 413)),
    refusalOf(serviceError('SerializationException', 400)),
    refusalOf(
      serviceError('TransactionCanceledException', 400, {
        CancellationReasons: [{ Code: 'ValidationError' }],
      }),
    ),
  ];

  it('sends a group one by one for a ValidationException or any non-throttling 4xx (HTTP 413 included)', () => {
    for (const reason of refused()) expect(reason).toBeTypeOf('string');
    expect(refusalOf(serviceError('UnknownError', 413))).toContain('413');
  });

  it('retries the whole batch on throttling, 5xx, network errors and lost races', () => {
    const transient = [
      serviceError('ThrottlingException', 400),
      serviceError('ProvisionedThroughputExceededException', 400),
      serviceError('RequestLimitExceeded', 400),
      serviceError('TooManyRequests', 429),
      serviceError('InternalServerError', 500),
      serviceError('ServiceUnavailable', 503),
      serviceError('TimeoutError', undefined),
      serviceError('ECONNRESET', undefined),
      serviceError('TransactionCanceledException', 400, {
        CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
      }),
      serviceError('TransactionCanceledException', 400, {
        CancellationReasons: [{ Code: 'TransactionConflict' }],
      }),
    ];
    for (const error of transient)
      expect({ name: error.name, refusal: refusalOf(error) }).toEqual({
        name: error.name,
        refusal: undefined,
      });
  });

  it('is caught when a 413 is taken for transient (bug switch lane-client-error-transient)', async () => {
    await expect(
      withBug('lane-client-error-transient', async () => {
        for (const reason of refused()) expect(reason).toBeTypeOf('string');
      }),
    ).rejects.toThrow();
  });
});
