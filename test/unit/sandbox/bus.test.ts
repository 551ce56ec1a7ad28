import { afterEach, describe, expect, it } from 'vitest';
import { LocalEventBus, type LocalEventBusOptions } from '../../../lib/sandbox/eventbridge/bus.ts';
import {
  EventBusClosedError,
  InvalidEventPatternError,
  InvalidRuleError,
  PutEventsValidationError,
} from '../../../lib/sandbox/eventbridge/errors.ts';
import type { EventBridgeEvent } from '../../../lib/sandbox/eventbridge/types.ts';

const buses: LocalEventBus[] = [];
function newBus(options: LocalEventBusOptions = {}): LocalEventBus {
  const bus = new LocalEventBus({
    region: 'eu-west-1',
    account: '111122223333',
    retryBaseDelayMs: 2,
    ...options,
  });
  buses.push(bus);
  return bus;
}
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

const entry = (detail: object = { orderId: 'o-1' }, source = 'orders') => ({
  Source: source,
  DetailType: 'OrderPlaced',
  Detail: JSON.stringify(detail),
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('LocalEventBus delivery', () => {
  it('delivers a real EventBridge event shape to the targets of matching rules only', async () => {
    const bus = newBus();
    const got: EventBridgeEvent[] = [];
    const other: EventBridgeEvent[] = [];
    bus.putRule({
      name: 'orders',
      eventPattern: { source: ['orders'] },
      targets: [{ id: 't', deliver: async (e) => void got.push(e) }],
    });
    bus.putRule({
      name: 'billing',
      eventPattern: { source: ['billing'] },
      targets: [{ id: 't', deliver: async (e) => void other.push(e) }],
    });

    const result = await bus.putEvents([
      { ...entry({ orderId: 'o-1', total: 5 }), Time: new Date('2026-01-02T03:04:05.678Z') },
    ]);
    await bus.drain();

    expect(result.FailedEntryCount).toBe(0);
    expect(other).toHaveLength(0);
    expect(got).toEqual([
      {
        version: '0',
        id: (result.Entries[0] as { EventId: string }).EventId,
        'detail-type': 'OrderPlaced',
        source: 'orders',
        account: '111122223333',
        time: '2026-01-02T03:04:05Z',
        region: 'eu-west-1',
        resources: [],
        detail: { orderId: 'o-1', total: 5 },
      },
    ]);
    expect(got[0]?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('matches rules on the detail content', async () => {
    const bus = newBus();
    const got: unknown[] = [];
    bus.putRule({
      name: 'big',
      eventPattern: { detail: { total: [{ numeric: ['>', 100] }] } },
      targets: [{ id: 't', deliver: async (e) => void got.push(e.detail) }],
    });
    await bus.putEvents([entry({ total: 5 }), entry({ total: 500 })]);
    await bus.drain();
    expect(got).toEqual([{ total: 500 }]);
  });

  it('returns from putEvents before a slow target has finished', async () => {
    const bus = newBus();
    const gate = deferred();
    let finished = false;
    bus.putRule({
      name: 'slow',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          deliver: async () => {
            await gate.promise;
            finished = true;
          },
        },
      ],
    });
    await bus.putEvents([entry()]);
    expect(finished).toBe(false);
    expect(bus.stats().inFlight).toBe(1);
    gate.resolve();
    await bus.drain();
    expect(finished).toBe(true);
    expect(bus.stats()).toMatchObject({ delivered: 1, inFlight: 0 });
  });

  it('gives each target its own copy of the event', async () => {
    const bus = newBus();
    const seen: unknown[] = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 'mutator',
          deliver: async (e) => {
            e.detail.orderId = 'changed';
          },
        },
        { id: 'reader', deliver: async (e) => void seen.push(e.detail.orderId) },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    expect(seen).toEqual(['o-1']);
  });
});

describe('LocalEventBus PutEvents validation', () => {
  it('refuses more than 10 entries, or none, as a whole-call ValidationException', async () => {
    const bus = newBus();
    const eleven = Array.from({ length: 11 }, () => entry());
    await expect(bus.putEvents(eleven)).rejects.toThrow(PutEventsValidationError);
    await expect(bus.putEvents(eleven)).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(bus.putEvents([])).rejects.toThrow(/greater than or equal to 1/);
    expect(bus.stats().accepted).toBe(0);
  });

  it('refuses an entry over 1 MiB with an entry-level error and accepts the others', async () => {
    const bus = newBus();
    const got: unknown[] = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [{ id: 't', deliver: async (e) => void got.push(e) }],
    });
    const big = entry({ blob: 'x'.repeat(1024 * 1024) });
    const result = await bus.putEvents([entry(), big]);
    await bus.drain();
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries[0]).toHaveProperty('EventId');
    expect(result.Entries[1]).toMatchObject({ ErrorCode: 'ValidationException' });
    expect(got).toHaveLength(1);
  });

  it('reports malformed detail, missing fields and unknown buses per entry', async () => {
    const bus = newBus({ name: 'cell' });
    const result = await bus.putEvents([
      { Source: 'a', DetailType: 'b', Detail: '{not json' },
      { Source: 'a', DetailType: 'b', Detail: '[1,2]' },
      { DetailType: 'b', Detail: '{}' },
      { ...entry(), EventBusName: 'other' },
      { ...entry(), EventBusName: bus.arn },
      { ...entry(), EventBusName: 'cell' },
    ]);
    expect(result.FailedEntryCount).toBe(4);
    expect(result.Entries.map((e) => ('ErrorCode' in e ? e.ErrorCode : 'ok'))).toEqual([
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'ResourceNotFoundException',
      'ok',
      'ok',
    ]);
  });

  it('rejects an invalid pattern and duplicate target ids at putRule', () => {
    const bus = newBus();
    expect(() => bus.putRule({ name: 'r', eventPattern: { source: 'orders' }, targets: [] })).toThrow(
      InvalidEventPatternError,
    );
    const t = { id: 'same', deliver: async () => {} };
    expect(() => bus.putRule({ name: 'r', eventPattern: { source: ['x'] }, targets: [t, t] })).toThrow(
      InvalidRuleError,
    );
    expect(() => bus.putRule({ name: 'bad name!', eventPattern: { source: ['x'] }, targets: [] })).toThrow(
      InvalidRuleError,
    );
  });
});

describe('LocalEventBus retries and dead letters', () => {
  it('retries a failing target until it succeeds', async () => {
    const bus = newBus();
    let attempts = 0;
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          deliver: async () => {
            attempts++;
            if (attempts < 3) throw new Error('target down');
          },
        },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    expect(attempts).toBe(3);
    expect(bus.stats()).toMatchObject({ delivered: 1, retries: 2, deadLettered: 0, dropped: 0 });
  });

  it('backs off exponentially between attempts', async () => {
    const bus = newBus({ retryBaseDelayMs: 20, random: () => 1 });
    const times: number[] = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 60 },
          deliver: async () => {
            times.push(performance.now());
            throw new Error('down');
          },
          deadLetter: async () => {},
        },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[2]).toBeGreaterThanOrEqual(75);
  });

  it('sends the event and the last error to the dead letter after maximumRetryAttempts', async () => {
    const bus = newBus();
    let attempts = 0;
    const dead: Array<{ event: EventBridgeEvent; error: unknown }> = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 },
          deliver: async () => {
            attempts++;
            throw new Error(`failure ${attempts}`);
          },
          deadLetter: async (event, error) => void dead.push({ event, error }),
        },
      ],
    });
    const result = await bus.putEvents([entry()]);
    await bus.drain();
    expect(attempts).toBe(3);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.event.id).toBe((result.Entries[0] as { EventId: string }).EventId);
    expect(dead[0]?.error).toMatchObject({ message: 'failure 3' });
    expect(bus.stats()).toMatchObject({ delivered: 0, retries: 2, deadLettered: 1 });
  });

  it('stops retrying once the event is older than maximumEventAgeSeconds', async () => {
    // One real millisecond counts as one second, so a 60 s age is reached long before 185 retries.
    const bus = newBus({ now: () => performance.now() * 1000 });
    let attempts = 0;
    const dead: unknown[] = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 60 },
          deliver: async () => {
            attempts++;
            throw new Error('down');
          },
          deadLetter: async (e) => void dead.push(e),
        },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    expect(dead).toHaveLength(1);
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(20);
  });

  it('reports an undeliverable event without a dead letter through onDropped', async () => {
    const dropped: Array<{ targetId: string; error: unknown }> = [];
    const bus = newBus({ onDropped: (_e, targetId, error) => void dropped.push({ targetId, error }) });
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 'lost',
          retryPolicy: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 60 },
          deliver: async () => {
            throw new Error('down');
          },
        },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.targetId).toBe('lost');
    expect(bus.stats().dropped).toBe(1);
  });

  it('reports a failing dead letter through onDropped with both errors', async () => {
    const dropped: unknown[] = [];
    const bus = newBus({ onDropped: (_e, _t, error) => void dropped.push(error) });
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
          deliver: async () => {
            throw new Error('target down');
          },
          deadLetter: async () => {
            throw new Error('dlq down');
          },
        },
      ],
    });
    await bus.putEvents([entry()]);
    await bus.drain();
    expect(dropped[0]).toBeInstanceOf(AggregateError);
    expect((dropped[0] as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'target down',
      'dlq down',
    ]);
  });
});

describe('LocalEventBus close', () => {
  it('cuts pending retries short, dead-letters their events and refuses new calls', async () => {
    const bus = newBus({ retryBaseDelayMs: 60_000 });
    const attempted = deferred();
    const dead: unknown[] = [];
    bus.putRule({
      name: 'r',
      eventPattern: { source: ['orders'] },
      targets: [
        {
          id: 't',
          deliver: async () => {
            attempted.resolve();
            throw new Error('down');
          },
          deadLetter: async (_e, error) => void dead.push(error),
        },
      ],
    });
    await bus.putEvents([entry()]);
    await attempted.promise;
    const started = performance.now();
    await bus.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toBeInstanceOf(EventBusClosedError);
    expect((dead[0] as Error).cause).toBeInstanceOf(Error);
    await expect(bus.putEvents([entry()])).rejects.toThrow(EventBusClosedError);
    expect(() => bus.putRule({ name: 'x', eventPattern: { source: ['x'] }, targets: [] })).toThrow(
      EventBusClosedError,
    );
  });
});

describe('LocalEventBus target concurrency', () => {
  it('runs at most maxConcurrentDeliveries deliveries of one target at once and delivers them all', async () => {
    const bus = new LocalEventBus({ maxConcurrentDeliveries: 3, retryBaseDelayMs: 1 });
    let active = 0;
    let peak = 0;
    let delivered = 0;
    bus.putRule({
      name: 'limited',
      eventPattern: { source: ['load'] },
      targets: [
        {
          id: 'slow',
          deliver: async () => {
            active++;
            peak = Math.max(peak, active);
            await new Promise((r) => setTimeout(r, 5));
            active--;
            delivered++;
          },
        },
      ],
    });
    for (let i = 0; i < 4; i++) {
      await bus.putEvents(
        Array.from({ length: 10 }, () => ({ Source: 'load', DetailType: 'x', Detail: '{}' })),
      );
    }
    await bus.drain();
    expect(delivered).toBe(40);
    expect(peak).toBe(3);
    await bus.close();
  });
});
