import { describe, expect, it } from 'vitest';
import { RegionHealthMonitor } from '../../../lib/api/index.ts';
import { classifyHealthAnswer } from '../../../lib/detection/index.ts';

const ACTIVE = { state: 'active' as const, changedAt: 0 };
const never = () => new Promise<never>(() => {});

describe('the health monitor behind /health', () => {
  it('fails when the region cannot write, throttling included: a gray failure', async () => {
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
    });
    const monitor = new RegionHealthMonitor({
      probeWrite: async () => {
        throw throttled;
      },
      traffic: async () => ACTIVE,
    });
    const verdict = await monitor.check();
    expect(verdict).toMatchObject({ healthy: false, status: 'unwritable', store: { writable: false } });
    expect(verdict.reason).toMatch(/ProvisionedThroughputExceededException/);
  });

  it('answers within its budget when the store or the traffic read hang', async () => {
    const hanging = new RegionHealthMonitor({ probeWrite: never, traffic: never, timeoutMs: 50 });
    expect(await hanging.check()).toMatchObject({ status: 'unwritable', traffic: ACTIVE });
    const slowTraffic = new RegionHealthMonitor({
      probeWrite: async () => {},
      traffic: never,
      timeoutMs: 50,
    });
    expect(await slowTraffic.check()).toMatchObject({ healthy: true, status: 'serving' });
  });

  it('keeps the last traffic state it read while a new read is slow, and reports a drain', async () => {
    let traffic = async () => ({ state: 'drained' as const, reason: 'failover', changedAt: 1 });
    const monitor = new RegionHealthMonitor({
      probeWrite: async () => {},
      traffic: () => traffic(),
      cacheMs: 0,
      timeoutMs: 50,
    });
    expect(await monitor.check()).toMatchObject({
      healthy: false,
      status: 'drained',
      reason: 'drained (failover)',
    });
    traffic = never;
    expect(await monitor.check()).toMatchObject({ status: 'drained' });
  });

  it('shares one probe between concurrent checks and reuses a recent verdict', async () => {
    let probes = 0;
    let now = 0;
    const monitor = new RegionHealthMonitor({
      probeWrite: async () => {
        probes++;
      },
      traffic: async () => ACTIVE,
      cacheMs: 1_000,
      now: () => now,
    });
    await Promise.all([monitor.check(), monitor.check(), monitor.check()]);
    await monitor.check();
    expect(probes).toBe(1);
    now += 1_000;
    await monitor.check();
    expect(probes).toBe(2);
  });
});

describe('how an observer reads /health', () => {
  it('tells a deliberate drain from a region that cannot write', () => {
    expect(classifyHealthAnswer(200, { healthy: true }).verdict).toBe('up');
    expect(classifyHealthAnswer(503, { status: 'drained' }).verdict).toBe('drained');
    expect(classifyHealthAnswer(503, { traffic: { state: 'drained' } }).verdict).toBe('drained');
    expect(classifyHealthAnswer(503, { status: 'unwritable', traffic: { state: 'drained' } }).verdict).toBe(
      'down',
    );
    expect(classifyHealthAnswer(429, { message: 'Too Many Requests' }).verdict).toBe('down');
    expect(classifyHealthAnswer(500, undefined).verdict).toBe('down');
  });
});
