import { ConsecutiveBreaker } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  nextSyncState,
  PeerTimeoutError,
  ServiceBreaker,
  SyncBreakers,
  serviceBreakerOptions,
} from '../../../lib/resilience/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fail = () => Promise.reject(new Error('boom'));
const thresholds = { degradeLagMs: 5_000, recoverLagMs: 2_000 };

describe('service breaker (cockatiel state machine)', () => {
  it('opens on the error rate, fails fast, half-opens after the pause and closes on a good trial call', async () => {
    const breaker = new ServiceBreaker('eu-west-1', {
      ...serviceBreakerOptions({
        breakerErrorRate: 0.5,
        breakerLatencyMs: 1_000,
        breakerHalfOpenAfterMs: 80,
      }),
      samplingMs: 1_000,
      minimumRps: 4,
    });
    const states: string[] = [];
    breaker.onStateChange((s) => states.push(s));
    for (let i = 0; i < 3; i++) await breaker.execute(async () => 'ok');
    for (let i = 0; i < 4 && breaker.state === 'closed'; i++)
      await breaker.execute(fail).catch(() => undefined);
    expect(breaker.state).toBe('open');
    let called = false;
    const fast = await breaker.execute(async () => (called = true)).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect((fast as CircuitOpenError).retryAfterMs).toBeGreaterThan(0);
    expect(called).toBe(false);
    await sleep(100);
    expect(await breaker.execute(async () => 'trial')).toBe('trial');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('re-opens when the half-open trial call fails', async () => {
    const breaker = new ServiceBreaker('eu-west-1', {
      errorRate: 0.5,
      latencyMs: 1_000,
      halfOpenAfterMs: 30,
      breaker: () => new ConsecutiveBreaker(2),
    });
    await breaker.execute(fail).catch(() => undefined);
    await breaker.execute(fail).catch(() => undefined);
    expect(breaker.state).toBe('open');
    await sleep(40);
    await expect(breaker.execute(fail)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });

  it('counts slow calls and results judged failures, and times calls out', async () => {
    const breaker = new ServiceBreaker('ap-southeast-1', {
      errorRate: 0.5,
      latencyMs: 20,
      halfOpenAfterMs: 1_000,
      breaker: () => new ConsecutiveBreaker(3),
    });
    expect(await breaker.execute(() => sleep(30).then(() => 'slow'))).toBe('slow');
    expect(await breaker.execute(async () => 502, { isFailure: (s) => s >= 500 })).toBe(502);
    expect(breaker.state).toBe('closed');
    const timedOut = await breaker.execute(() => sleep(200), { timeoutMs: 10 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(PeerTimeoutError);
    expect(breaker.state).toBe('open');
  });
});

describe('sync breaker (degrade with hysteresis)', () => {
  it('opens above degradeLagMs and closes only below recoverLagMs', () => {
    expect(nextSyncState('closed', 4_000, thresholds)).toBe('closed');
    expect(nextSyncState('closed', 6_000, thresholds)).toBe('open');
    expect(nextSyncState('open', 3_000, thresholds)).toBe('open');
    expect(nextSyncState('open', 1_500, thresholds)).toBe('closed');
    expect(nextSyncState('open', null, thresholds)).toBe('open');
  });

  it('tracks every peer, reports changes and pauses batch sync while open', async () => {
    const lags: Record<string, number | null> = { 'eu-west-1': 100, 'ap-southeast-1': null };
    const changes: string[] = [];
    const sync = new SyncBreakers({
      ...thresholds,
      peers: ['eu-west-1', 'ap-southeast-1'],
      lag: { lagMs: async (peer) => lags[peer] ?? null },
      refreshMs: 0,
      onChange: (peer, status) => changes.push(`${peer}:${status.state}`),
    });
    expect(await sync.degradedPeers()).toEqual([]);
    lags['eu-west-1'] = 9_000;
    expect(await sync.isOpen('eu-west-1')).toBe(true);
    expect(await sync.allowsBatchSync('eu-west-1')).toBe(false);
    lags['eu-west-1'] = 2_500;
    expect(await sync.degradedPeers()).toEqual(['eu-west-1']);
    lags['eu-west-1'] = 1_000;
    expect(await sync.isOpen('eu-west-1')).toBe(false);
    expect(changes).toEqual(['eu-west-1:open', 'eu-west-1:closed']);
    expect(sync.snapshot()['ap-southeast-1']).toMatchObject({ state: 'closed', lagMs: null });
  });
});
