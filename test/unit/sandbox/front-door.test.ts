import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GtmConfigError } from '../../../lib/sandbox/gtm/errors.ts';
import { FrontDoor } from '../../../lib/sandbox/gtm/front-door.ts';
import { Router } from '../../../lib/sandbox/gtm/router.ts';
import { type FakeRegion, startRegion } from './region-server.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
let regions: FakeRegion[] = [];
let endpoints: Record<string, string> = {};
const doors: FrontDoor[] = [];

beforeAll(async () => {
  regions = await Promise.all(REGIONS.map(startRegion));
  endpoints = Object.fromEntries(regions.map((r) => [r.region, r.url]));
});
afterAll(async () => {
  await Promise.all(doors.map((d) => d.close()));
  await Promise.all(regions.map((r) => r.close()));
});

async function door(options: { mode: 'redirect' | 'proxy'; router: Router }): Promise<string> {
  const d = new FrontDoor({ ...options, endpoints });
  doors.push(d);
  return d.listen();
}

describe('FrontDoor redirect mode', () => {
  it('answers 307 to the nearest healthy region with the original path and query', async () => {
    const down = new Set<string>();
    const router = new Router({ regions: REGIONS, policy: 'latency', isHealthy: (r) => !down.has(r) });
    const url = await door({ mode: 'redirect', router });

    const res = await fetch(`${url}/accounts/42?expand=1`, {
      redirect: 'manual',
      headers: { 'x-client-region': 'eu-west-1' },
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('x-multiactive-region')).toBe('eu-west-1');
    expect(res.headers.get('location')).toBe(`${endpoints['eu-west-1']}/accounts/42?expand=1`);

    down.add('eu-west-1');
    const failover = await fetch(`${url}/accounts/42?from=eu-west-1`, { redirect: 'manual' });
    expect(failover.headers.get('x-multiactive-region')).toBe('us-east-1');
    expect(failover.headers.get('location')).toBe(`${endpoints['us-east-1']}/accounts/42?from=eu-west-1`);
  });

  it('lets fetch follow the redirect to the region, keeping method and body', async () => {
    const router = new Router({ regions: REGIONS, policy: 'latency' });
    const url = await door({ mode: 'redirect', router });
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      body: '{"n":1}',
      headers: { 'x-client-region': 'ap-southeast-1' },
    });
    expect(await res.json()).toMatchObject({
      region: 'ap-southeast-1',
      method: 'POST',
      url: '/orders',
      body: '{"n":1}',
    });
  });
});

describe('FrontDoor proxy mode', () => {
  it('forwards the request to the chosen region and streams the answer back', async () => {
    const router = new Router({ regions: REGIONS, policy: 'round-robin' });
    const url = await door({ mode: 'proxy', router });
    const answers: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/items?i=${i}`, {
        method: 'PUT',
        body: `b${i}`,
        headers: { 'x-client-region': 'us-east-1' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-multiactive-region')).toBe(res.headers.get('x-served-by'));
      answers.push((await res.json()) as Record<string, unknown>);
    }
    expect(answers.map((a) => a.region)).toEqual(REGIONS);
    expect(answers[1]).toMatchObject({
      method: 'PUT',
      url: '/items?i=1',
      body: 'b1',
      clientRegion: 'us-east-1',
    });
    expect(router.connections()).toEqual({ 'us-east-1': 0, 'eu-west-1': 0, 'ap-southeast-1': 0 });
  });

  it('answers 502 when the region does not answer', async () => {
    const gone = await startRegion('us-east-1');
    await gone.close();
    const router = new Router({ regions: ['us-east-1'], policy: 'round-robin' });
    const d = new FrontDoor({ router, endpoints: { 'us-east-1': gone.url }, mode: 'proxy' });
    doors.push(d);
    const res = await fetch(`${await d.listen()}/x`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/us-east-1 did not answer/);
  });

  it('refuses a router region without an endpoint', () => {
    const router = new Router({ regions: ['sa-east-1'], policy: 'round-robin' });
    expect(() => new FrontDoor({ router, endpoints, mode: 'proxy' })).toThrow(GtmConfigError);
  });
});
