import { Resolver } from 'node:dns/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { GtmDnsServer } from '../../../lib/sandbox/gtm/dns.ts';
import { Router } from '../../../lib/sandbox/gtm/router.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const NAME = 'api.multiactive.local';
const servers: GtmDnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(router: Router, ttl?: number): Promise<number> {
  const server = new GtmDnsServer({ router, name: NAME, ttl });
  servers.push(server);
  return server.listen();
}

function resolver(port: number, localAddress?: string): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  if (localAddress) r.setLocalAddress(localAddress);
  return r;
}

describe('GtmDnsServer', () => {
  it('answers A with the chosen region address and TXT with its name, with the configured TTL', async () => {
    const down = new Set(['us-east-1']);
    const port = await serve(
      new Router({ regions: REGIONS, policy: 'latency', isHealthy: (r) => !down.has(r) }),
      30,
    );
    const r = resolver(port);
    expect(await r.resolve4(NAME, { ttl: true })).toEqual([{ address: '127.0.0.12', ttl: 30 }]);
    expect(await r.resolveTxt(NAME)).toEqual([['eu-west-1']]);
    down.clear();
    expect(await r.resolve4(NAME)).toEqual(['127.0.0.11']);
  });

  it('routes by the region the query comes from (resolver bound to a region address)', async () => {
    const port = await serve(new Router({ regions: REGIONS, policy: 'latency' }));
    expect(await resolver(port, '127.0.0.13').resolveTxt(NAME)).toEqual([['ap-southeast-1']]);
    expect(await resolver(port, '127.0.0.12').resolve4(NAME)).toEqual(['127.0.0.12']);
  });

  it('follows the routing policy across queries', async () => {
    const port = await serve(new Router({ regions: REGIONS, policy: 'round-robin' }));
    const r = resolver(port);
    const answers = [await r.resolveTxt(NAME), await r.resolveTxt(NAME), await r.resolveTxt(NAME)];
    expect(answers.map((a) => a[0]?.[0])).toEqual(REGIONS);
  });

  it('answers NXDOMAIN for other names', async () => {
    const port = await serve(new Router({ regions: REGIONS, policy: 'latency' }));
    await expect(resolver(port).resolve4('other.multiactive.local')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});
