import { afterEach, describe, expect, it } from 'vitest';
import { type HealthChange, HealthChecker } from '../../../lib/sandbox/gtm/health.ts';
import { freePort } from '../../../lib/sandbox/net/free-port.ts';
import { type FakeRegion, startRegion } from './region-server.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function region(name: string): Promise<FakeRegion> {
  const r = await startRegion(name);
  cleanups.push(() => r.close());
  return r;
}

function checker(
  targets: Array<{ region: string; url: string }>,
  threshold = 3,
  timeoutMs = 1_000,
): HealthChecker {
  const c = new HealthChecker({ targets, intervalMs: 20, timeoutMs, failureThreshold: threshold });
  cleanups.push(() => c.stop());
  return c;
}

function nextChange(c: HealthChecker): Promise<HealthChange> {
  return new Promise((resolve) => c.once('change', resolve));
}

const probesOf = (r: FakeRegion) => r.seen.filter((s) => s === 'GET /health').length;

describe('HealthChecker', () => {
  it('turns unhealthy only after failureThreshold consecutive failures', async () => {
    const us = await region('us-east-1');
    const c = checker([{ region: 'us-east-1', url: `${us.url}/health` }]);
    const changes: HealthChange[] = [];
    c.on('change', (e) => changes.push(e));

    us.healthStatus = 503;
    await c.probeAll();
    await c.probeAll();
    expect(c.isHealthy('us-east-1')).toBe(true);
    us.healthStatus = 200;
    await c.probeAll(); // a success resets the count
    us.healthStatus = 503;
    await c.probeAll();
    await c.probeAll();
    expect(c.isHealthy('us-east-1')).toBe(true);
    await c.probeAll();
    expect(c.isHealthy('us-east-1')).toBe(false);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ region: 'us-east-1', healthy: false, detail: 'HTTP 503' });
  });

  it('turns healthy again after as many consecutive successes', async () => {
    const eu = await region('eu-west-1');
    const c = new HealthChecker({
      targets: [{ region: 'eu-west-1', url: `${eu.url}/health` }],
      failureThreshold: 2,
      initiallyHealthy: false,
    });
    await c.probeAll();
    expect(c.isHealthy('eu-west-1')).toBe(false);
    await c.probeAll();
    expect(c.isHealthy('eu-west-1')).toBe(true);
    expect(c.status()[0]).toMatchObject({ healthy: true, consecutiveSuccesses: 2, lastDetail: 'HTTP 200' });
  });

  it('flips on its own timer and stamps each change with a time', async () => {
    const us = await region('us-east-1');
    const eu = await region('eu-west-1');
    const c = checker([
      { region: 'us-east-1', url: `${us.url}/health` },
      { region: 'eu-west-1', url: `${eu.url}/health` },
    ]);
    c.start();
    const before = Date.now();
    us.healthStatus = 500;
    const down = await nextChange(c);
    expect(down).toMatchObject({ region: 'us-east-1', healthy: false });
    expect(down.at).toBeGreaterThanOrEqual(before);
    expect(probesOf(us)).toBeGreaterThanOrEqual(3);
    expect(c.healthyRegions()).toEqual(['eu-west-1']);

    us.healthStatus = 200;
    const up = await nextChange(c);
    expect(up).toMatchObject({ region: 'us-east-1', healthy: true });
    expect(up.at).toBeGreaterThanOrEqual(down.at);
    expect(c.healthyRegions()).toEqual(['us-east-1', 'eu-west-1']);
  });

  it('counts a probe that times out as a failure', async () => {
    const ap = await region('ap-southeast-1');
    ap.hang = true;
    const c = checker([{ region: 'ap-southeast-1', url: `${ap.url}/health` }], 1, 30);
    await c.probeAll();
    expect(c.isHealthy('ap-southeast-1')).toBe(false);
    expect(c.status()[0]?.lastDetail).toMatch(/timeout/);
  });

  it("probes each region at its own fixed rate: a hanging region does not hold the others' probes", async () => {
    const us = await region('us-east-1');
    const ap = await region('ap-southeast-1');
    ap.hang = true;
    const c = checker(
      [
        { region: 'us-east-1', url: `${us.url}/health` },
        { region: 'ap-southeast-1', url: `${ap.url}/health` },
      ],
      3,
      5_000,
    );
    c.start();
    while (probesOf(us) < 5) await new Promise((r) => setTimeout(r, 10));
    // Five rounds of us-east-1 while ap-southeast-1's first probe still waits for its 5 s timeout.
    expect(c.status().find((s) => s.region === 'ap-southeast-1')?.lastCheckedAt).toBeUndefined();
    expect(c.status().find((s) => s.region === 'us-east-1')?.lastCheckedAt).toBeDefined();
  });

  it('counts a refused connection as a failure', async () => {
    const port = await freePort();
    const c = checker([{ region: 'us-east-1', url: `http://127.0.0.1:${port}/health` }], 1);
    await c.probeAll();
    expect(c.isHealthy('us-east-1')).toBe(false);
    expect(c.status()[0]?.lastDetail).toMatch(/ECONNREFUSED/);
  });

  it('stops probing after stop()', async () => {
    const us = await region('us-east-1');
    const c = checker([{ region: 'us-east-1', url: `${us.url}/health` }]);
    c.start();
    while (probesOf(us) < 2) await new Promise((r) => setTimeout(r, 10));
    await c.stop();
    const count = probesOf(us);
    await new Promise((r) => setTimeout(r, 70));
    expect(probesOf(us)).toBe(count);
  });
});
