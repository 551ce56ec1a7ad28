import { afterEach, describe, expect, it } from 'vitest';
import { LocalEventBus } from '../../../lib/sandbox/eventbridge/bus.ts';
import { FunctionError } from '../../../lib/sandbox/eventbridge/errors.ts';
import type { AsyncInvokePolicy, EventBridgeEvent } from '../../../lib/sandbox/eventbridge/types.ts';

const buses: LocalEventBus[] = [];
function newBus(): LocalEventBus {
  const bus = new LocalEventBus({ region: 'eu-west-1', account: '111122223333', retryBaseDelayMs: 2 });
  buses.push(bus);
  return bus;
}
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

const entry = { Source: 'orders', DetailType: 'OrderPlaced', Detail: '{"orderId":"o-1"}' };

type Failure = Parameters<NonNullable<AsyncInvokePolicy['onFailure']>>[1];

/** A Lambda target failing `failures` times (as its function), with Lambda's retries every `delayMs`. */
function lambdaTarget(failures: number, policy: Partial<AsyncInvokePolicy> = {}) {
  const calls: number[] = [];
  const sent: Array<{ event: EventBridgeEvent; failure: Failure }> = [];
  const dead: unknown[] = [];
  const target = {
    id: 'applier',
    // The rule's own policy: 50 retries. A function error must not use it.
    retryPolicy: { maximumRetryAttempts: 50, maximumEventAgeSeconds: 3600 },
    deliver: async () => {
      calls.push(performance.now());
      if (calls.length <= failures)
        throw new FunctionError('applier', new Error(`throttled ${calls.length}`));
    },
    deadLetter: async (_e: EventBridgeEvent, error: unknown) => void dead.push(error),
    asyncInvoke: {
      maximumRetryAttempts: 2,
      retryDelaysMs: [20, 40],
      maximumEventAgeMs: 60_000,
      onFailure: async (event: EventBridgeEvent, failure: Failure) => void sent.push({ event, failure }),
      ...policy,
    },
  };
  return { target, calls, sent, dead };
}

describe('LocalEventBus: a Lambda target runs asynchronously (Lambda retries a function error)', () => {
  it('retries a failed function twice, 1 then 2 (scaled) minutes apart, then sends the invocation to the on-failure destination, not to the rule’s dead letters', async () => {
    const bus = newBus();
    const { target, calls, sent, dead } = lambdaTarget(10);
    bus.putRule({ name: 'apply', eventPattern: { source: ['orders'] }, targets: [target] });
    await bus.putEvents([entry]);
    await bus.drain();
    expect(calls).toHaveLength(3);
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.failure).toMatchObject({ condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    expect(sent[0]?.failure.error).toMatchObject({ message: 'throttled 3' });
    expect(dead).toEqual([]);
    expect(bus.stats()).toMatchObject({
      delivered: 0,
      retries: 0,
      functionRetries: 2,
      functionFailures: 1,
      deadLettered: 0,
      dropped: 0,
    });
  });

  it('a function that succeeds on Lambda’s retry is delivered, nothing is sent', async () => {
    const bus = newBus();
    const { target, calls, sent } = lambdaTarget(1);
    bus.putRule({ name: 'apply', eventPattern: { source: ['orders'] }, targets: [target] });
    await bus.putEvents([entry]);
    await bus.drain();
    expect(calls).toHaveLength(2);
    expect(sent).toEqual([]);
    expect(bus.stats()).toMatchObject({ delivered: 1, functionRetries: 1, functionFailures: 0 });
  });

  it('gives up with EventAgeExceeded when the next retry would pass the maximum event age', async () => {
    const bus = newBus();
    const { target, calls, sent } = lambdaTarget(10, { maximumEventAgeMs: 30 });
    bus.putRule({ name: 'apply', eventPattern: { source: ['orders'] }, targets: [target] });
    await bus.putEvents([entry]);
    await bus.drain();
    expect(calls).toHaveLength(2);
    expect(sent[0]?.failure).toMatchObject({ condition: 'EventAgeExceeded', approximateInvokeCount: 2 });
  });

  it('a delivery failure that is not the function’s (the invoke refused) stays under the rule’s RetryPolicy and dead letters', async () => {
    const bus = newBus();
    const { target, sent, dead } = lambdaTarget(0);
    let refusals = 0;
    bus.putRule({
      name: 'apply',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          ...target,
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 },
          deliver: async () => {
            refusals++;
            throw new Error('AccessDeniedException: lambda:InvokeFunction');
          },
        },
      ],
    });
    await bus.putEvents([entry]);
    await bus.drain();
    expect(refusals).toBe(4);
    expect(sent).toEqual([]);
    expect(dead).toHaveLength(1);
    expect(bus.stats()).toMatchObject({
      retries: 3,
      deadLettered: 1,
      functionRetries: 0,
      functionFailures: 0,
    });
  });

  it('without an on-failure destination Lambda drops the event (reported through onDropped)', async () => {
    const dropped: unknown[] = [];
    const bus = new LocalEventBus({
      region: 'eu-west-1',
      account: '111122223333',
      retryBaseDelayMs: 2,
      onDropped: (_event, _target, error) => void dropped.push(error),
    });
    buses.push(bus);
    const { target } = lambdaTarget(10);
    const { onFailure: _none, ...noDestination } = target.asyncInvoke;
    bus.putRule({
      name: 'apply',
      eventPattern: { source: ['orders'] },
      targets: [{ ...target, asyncInvoke: noDestination }],
    });
    await bus.putEvents([entry]);
    await bus.drain();
    expect(dropped).toHaveLength(1);
    expect(bus.stats()).toMatchObject({ functionFailures: 1, dropped: 1, deadLettered: 0 });
  });
});
