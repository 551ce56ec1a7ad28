import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRegionTraffic } from '../../lib/resilience/index.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { expectStatus, untilServed } from '../support/answers.ts';

const A = 'us-east-1';
const B = 'eu-west-1';
const C = 'ap-southeast-1';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true });
}, 360_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

async function call(
  region: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await sandbox.apiClient.fetch(`${sandbox.region(region).apiUrl}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    followRedirects: false,
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}

describe('routing in the sandbox (three regions, fast timers)', () => {
  it('forwards a core write made through a non-home region to the home and serves it at a third with its token', async () => {
    const id = `e2e-routing-${Date.now().toString(36)}`;
    // A fresh sandbox's first writes can outlast the 3 s forward timeout on a loaded machine (503
    // PeerUnavailableError): sent again with the same idempotencyKey, as a client would.
    const opened = await untilServed(() =>
      call(A, `/v1/account/${id}/commands`, {
        body: {
          type: 'OpenAccount',
          payload: { owner: 'Ada', currency: 'EUR' },
          idempotencyKey: `${id}-open`,
        },
      }),
    );
    expectStatus(opened, 200);
    expect(opened.headers.get('x-multiactive-region')).toBe(A);

    const deposited = await untilServed(() =>
      call(B, `/v1/account/${id}/commands`, {
        body: { type: 'Deposit', payload: { amount: 25 }, idempotencyKey: `${id}-deposit` },
      }),
    );
    expectStatus(deposited, 200);
    expect(deposited.headers.get('x-multiactive-region')).toBe(A);
    expect(deposited.headers.get('x-multiactive-forwarded-by')).toBe(B);
    expect(deposited.body.state).toMatchObject({ balance: 25 });
    const token = deposited.headers.get('x-consistency-token');
    // A core token: the write's HLC (ending in its origin), then its seq, epoch and event id.
    expect(token).toMatch(new RegExp(`\\.${A}~\\d+~\\d+~[0-9A-Z]{26}$`));
    // The home is the single writer: whatever B holds of the account was replicated from A.
    const inB = await sandbox.region(B).stores.events.loadStream('account', id);
    expect(inB.every((event) => event.origin === A)).toBe(true);

    const read = await call(C, `/v1/account/${id}`, { headers: { 'X-Consistency-Token': token as string } });
    expect(read.status).toBe(200);
    expect(read.body.state).toMatchObject({ opened: true, balance: 25 });
    expect(String(read.body.head) >= (token as string).split('~')[0]!).toBe(true);
    // Served by C once replication covered the token, or back-to-source by the origin.
    const servedBy = read.headers.get('x-multiactive-region');
    expect([C, A]).toContain(servedBy);
    if (servedBy === A) expect(read.headers.get('x-multiactive-forwarded-by')).toBe(C);
  }, 60_000);

  it('answers /health with 503 while the region is drained in the control state, 200 once restored', async () => {
    const region = sandbox.region(C);
    const { register, api } = region.multiRegion;
    const healthy = await call(C, '/health');
    expect(healthy.status).toBe(200);
    expect(healthy.body).toMatchObject({ region: C, healthy: true, traffic: { state: 'active' } });
    expect(healthy.body.breakers).toMatchObject({
      sync: { [A]: { state: 'closed' }, [B]: { state: 'closed' } },
    });

    // /health answers from a verdict at most a second old (its own cache, as in Lambda): ask until it
    // reflects the change, within a bound.
    const healthOnce = async (status: number) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const answer = await call(C, '/health');
        if (answer.status === status || Date.now() > deadline) return answer;
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await setRegionTraffic(register, C, 'drained', 'e2e');
    api.breakers.traffic?.invalidate();
    const drained = await healthOnce(503);
    await setRegionTraffic(register, C, 'active');
    api.breakers.traffic?.invalidate();
    expect(drained.status).toBe(503);
    expect(drained.body).toMatchObject({ healthy: false, traffic: { state: 'drained', reason: 'e2e' } });
    expect((await healthOnce(200)).status).toBe(200);

    const status = await call(C, '/v1/replication/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ region: C, degrade: { degradedPeers: [] } });
  }, 60_000);
});
