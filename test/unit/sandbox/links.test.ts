import { afterEach, describe, expect, it } from 'vitest';
import { LinkDownError, UnknownRegionError } from '../../../lib/sandbox/wan/errors.ts';
import { WanNetwork, type WanNetworkOptions } from '../../../lib/sandbox/wan/links.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

/** mulberry32: a tiny seeded PRNG so loss/jitter tests are deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const networks: WanNetwork[] = [];
function newWan(options: Partial<WanNetworkOptions> = {}): WanNetwork {
  const wan = new WanNetwork({ regions: REGIONS, timeScale: 0, random: seeded(42), ...options });
  networks.push(wan);
  return wan;
}
afterEach(() => {
  for (const wan of networks.splice(0)) wan.close();
});

async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof LinkDownError)) throw new Error(`expected a LinkDownError, got ${String(error)}`);
  return error.reason;
}

describe('WanNetwork latency', () => {
  it('defaults one-way latency to half the measured inter-region RTT', () => {
    const wan = new WanNetwork({ regions: [...REGIONS, 'sa-east-1'] });
    expect(wan.link('us-east-1', 'eu-west-1').latencyMs).toBe(37.5);
    expect(wan.link('eu-west-1', 'us-east-1').latencyMs).toBe(37.5);
    expect(wan.link('us-east-1', 'ap-southeast-1').latencyMs).toBe(109.5);
    expect(wan.link('ap-southeast-1', 'eu-west-1').latencyMs).toBe(91);
    expect(wan.link('sa-east-1', 'us-east-1').latencyMs).toBe(50);
  });

  it('delivers after the one-way latency, scaled by timeScale', async () => {
    const wan = newWan({ timeScale: 1 });
    const started = performance.now();
    expect(await wan.send('us-east-1', 'eu-west-1', () => 'pong')).toBe('pong');
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);

    wan.setTimeScale(0.1);
    const fast = performance.now();
    await wan.send('us-east-1', 'ap-southeast-1', () => undefined);
    const elapsed = performance.now() - fast;
    expect(elapsed).toBeGreaterThanOrEqual(9);
    expect(elapsed).toBeLessThan(100);
  });

  it('adds jitter on top of the latency', async () => {
    const wan = newWan({ timeScale: 1, random: () => 1 });
    wan.setLink('us-east-1', 'eu-west-1', { latencyMs: 0, jitterMs: 40 });
    const started = performance.now();
    await wan.send('us-east-1', 'eu-west-1', () => undefined);
    expect(performance.now() - started).toBeGreaterThanOrEqual(38);
  });

  it('lets later messages overtake earlier ones when reorderMs is set', async () => {
    const wan = newWan({ timeScale: 1 });
    wan.setLink('us-east-1', 'eu-west-1', { latencyMs: 0, reorderMs: 30 });
    const arrived: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => wan.send('us-east-1', 'eu-west-1', () => void arrived.push(i))),
    );
    expect(arrived).toHaveLength(20);
    expect(arrived).not.toEqual([...arrived].sort((a, b) => a - b));
  });

  it('calls fn directly within one region', async () => {
    const wan = newWan({ timeScale: 1 });
    wan.isolate('us-east-1');
    expect(await wan.send('us-east-1', 'us-east-1', () => 7)).toBe(7);
  });
});

describe('WanNetwork faults', () => {
  it('refuses messages over a partitioned link in both directions, and heal restores them', async () => {
    const wan = newWan();
    let calls = 0;
    wan.partition('us-east-1', 'eu-west-1');
    expect(await reason(wan.send('us-east-1', 'eu-west-1', () => calls++))).toBe('partitioned');
    expect(await reason(wan.send('eu-west-1', 'us-east-1', () => calls++))).toBe('partitioned');
    expect(await wan.send('us-east-1', 'ap-southeast-1', () => 'ok')).toBe('ok');
    expect(calls).toBe(0);
    wan.heal();
    await wan.send('us-east-1', 'eu-west-1', () => calls++);
    expect(calls).toBe(1);
  });

  it('can cut one direction only', async () => {
    const wan = newWan();
    wan.partition('us-east-1', 'eu-west-1', { oneWay: true });
    expect(await reason(wan.send('us-east-1', 'eu-west-1', () => 1))).toBe('partitioned');
    expect(await wan.send('eu-west-1', 'us-east-1', () => 1)).toBe(1);
  });

  it('isolates a region from all others', async () => {
    const wan = newWan();
    wan.isolate('eu-west-1');
    expect(await reason(wan.send('us-east-1', 'eu-west-1', () => 1))).toBe('partitioned');
    expect(await reason(wan.send('eu-west-1', 'ap-southeast-1', () => 1))).toBe('partitioned');
    expect(await wan.send('us-east-1', 'ap-southeast-1', () => 1)).toBe(1);
  });

  it('refuses traffic to and from a region that is down until it comes back', async () => {
    const wan = newWan();
    wan.setRegionDown('ap-southeast-1', true);
    expect(wan.isRegionDown('ap-southeast-1')).toBe(true);
    expect(await reason(wan.send('us-east-1', 'ap-southeast-1', () => 1))).toBe('region-down');
    expect(await reason(wan.send('ap-southeast-1', 'us-east-1', () => 1))).toBe('region-down');
    wan.heal();
    expect(await reason(wan.send('us-east-1', 'ap-southeast-1', () => 1))).toBe('region-down');
    wan.setRegionDown('ap-southeast-1', false);
    expect(await wan.send('us-east-1', 'ap-southeast-1', () => 1)).toBe(1);
  });

  it('loses a message that is in flight when the link is cut', async () => {
    const wan = newWan({ timeScale: 1 });
    let called = false;
    const inFlight = wan.send('us-east-1', 'eu-west-1', () => {
      called = true;
    });
    wan.partition('us-east-1', 'eu-west-1');
    expect(await reason(inFlight)).toBe('partitioned');
    expect(called).toBe(false);
  });

  it('drops about `loss` of the messages, visibly, with a seeded random', async () => {
    const wan = newWan();
    wan.setLink('us-east-1', 'eu-west-1', { loss: 0.3 });
    let calls = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 500 }, () => wan.send('us-east-1', 'eu-west-1', () => calls++)),
    );
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(100);
    expect(rejected.length).toBeLessThan(200);
    expect(rejected.every((o) => o.reason instanceof LinkDownError && o.reason.reason === 'lost')).toBe(true);
    expect(calls).toBe(500 - rejected.length);
    expect(wan.stats()).toMatchObject({ sent: 500, lost: rejected.length, delivered: calls });
  });

  it('is deterministic for a given seed', async () => {
    const run = async (seed: number) => {
      const wan = newWan({ random: seeded(seed) });
      wan.setLink('us-east-1', 'eu-west-1', { loss: 0.5 });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, () => wan.send('us-east-1', 'eu-west-1', () => 1)),
      );
      return outcomes.map((o) => o.status).join();
    };
    expect(await run(7)).toBe(await run(7));
    expect(await run(7)).not.toBe(await run(8));
  });

  it('duplicates messages when asked, while the sender sees a single result', async () => {
    const wan = newWan();
    wan.setLink('us-east-1', 'eu-west-1', { duplicate: 1 });
    let calls = 0;
    expect(await wan.send('us-east-1', 'eu-west-1', () => ++calls)).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toBe(2);
    expect(wan.stats().duplicated).toBe(1);
  });

  it('passes errors of the remote call through unchanged', async () => {
    const wan = newWan();
    const boom = new Error('handler failed');
    await expect(
      wan.send('us-east-1', 'eu-west-1', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('rejects unknown regions and out-of-range probabilities', async () => {
    const wan = newWan();
    await expect(wan.send('us-east-1', 'mars-1', () => 1)).rejects.toThrow(UnknownRegionError);
    expect(() => wan.setLink('us-east-1', 'eu-west-1', { loss: 1.5 })).toThrow(RangeError);
    expect(() => wan.setRegionDown('mars-1', true)).toThrow(UnknownRegionError);
  });

  it('fails messages in flight on close and clears their timers', async () => {
    const wan = newWan({ timeScale: 1000 });
    const inFlight = wan.send('us-east-1', 'ap-southeast-1', () => 1);
    wan.close();
    expect(await reason(inFlight)).toBe('closed');
    expect(await reason(wan.send('us-east-1', 'eu-west-1', () => 1))).toBe('closed');
  });
});
