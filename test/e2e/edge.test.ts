import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POISON_REASONS } from '../../lib/replication/index.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { badInputCases, VICTIM } from '../integration/bad-input/cases.ts';

// The sandbox's HTTP endpoints as a client meets them (API Gateway's routes, throttles and authorizers
// from the synthesized stack, then the handlers), and a gray failure that must end in one failover.
const A = 'us-east-1';
const B = 'eu-west-1';
const C = 'ap-southeast-1';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true });
}, 360_000);

afterAll(async () => {
  await sandbox?.stop();
}, 120_000);

/** Every non-heartbeat event and state row of every region: "changes nothing" compares them. */
async function everything(): Promise<string[]> {
  const rows: string[] = [];
  for (const region of sandbox.regions) {
    for (const table of [region.stores.tables.events, region.stores.tables.state]) {
      const items = (await region.clients.doc.send(new ScanCommand({ TableName: table }))).Items ?? [];
      for (const item of items) {
        if (String(item.pk).startsWith('_heartbeat')) continue;
        rows.push(`${region.name} ${JSON.stringify(item)}`);
      }
    }
  }
  return rows.sort();
}

describe("bad input through the sandbox's HTTP endpoints (dev: JWT authorizer)", () => {
  it('answers every class of bad input with a 4xx, API Gateway first where it answers, and changes nothing', async () => {
    const url = sandbox.region(A).apiUrl;
    const open = JSON.stringify({ type: 'OpenAccount', payload: { owner: 'Victim', currency: 'EUR' } });
    const victim = `${url}/v1/${VICTIM.type}/${VICTIM.id}`;
    // A client retries a 503 after its Retry-After (a loaded machine can time a first core append out).
    // A 503 may still have written (an append that timed out), so after one the client reads the account
    // before it sends OpenAccount again (a retry of an open that landed answers 422: already open).
    let opened = false;
    for (let i = 0; i < 10 && !opened; i++) {
      const response = await sandbox.apiClient.fetch(`${victim}/commands`, { method: 'POST', body: open });
      await response.arrayBuffer();
      opened = response.status === 200;
      if (opened) break;
      // 503: retry; 422 only when an earlier 503 had written it (the read below then finds the account).
      expect([503, 422]).toContain(response.status);
      await new Promise((r) => setTimeout(r, 1_000));
      const read = await sandbox.apiClient.fetch(victim);
      await read.arrayBuffer();
      opened = read.status === 200;
    }
    expect(opened).toBe(true);
    await sandbox.quiesce();
    const before = await everything();
    const answers = [];
    const expected = [];
    for (const c of badInputCases()) {
      const request = {
        method: c.request.method,
        ...(c.request.headers ? { headers: c.request.headers } : {}),
        ...(c.request.body === undefined ? {} : { body: c.request.body }),
        followRedirects: false,
      };
      const target = `${url}${c.request.path}`;
      const response = c.request.anonymous
        ? await fetch(target, request)
        : await sandbox.apiClient.fetch(target, request);
      const body = (await response.json()) as { error?: string; message?: string };
      answers.push([c.name, response.status, c.gateway ? body.message : body.error]);
      expected.push([c.name, c.gateway?.status ?? c.status, c.gateway?.message ?? c.error]);
    }
    expect(answers).toEqual(expected);
    await sandbox.quiesce();
    expect(await everything()).toEqual(before);
  }, 240_000);

  it("answers a path no route serves with API Gateway's 404, before any credentials are asked for", async () => {
    const response = await fetch(`${sandbox.region(B).apiUrl}/admin/users`);
    expect([response.status, await response.json()]).toEqual([404, { message: 'Not Found' }]);
  });

  it('quarantines a replication event that someone put on a bus directly (no signature)', async () => {
    const region = sandbox.region(B);
    const before = await region.stores.quarantine.count();
    const envelope = {
      eventId: '01JF0RGED0000000000000000A',
      aggregateType: 'account',
      aggregateId: 'forged-1',
      partition: 1,
      seq: 1,
      type: 'AccountOpened',
      schemaVersion: 1,
      payload: { owner: 'Mallory', currency: 'EUR' },
      origin: A,
      hlc: `${Date.now().toString(16).padStart(12, '0')}.000000.${A}`,
      epoch: 0,
      prev: null,
      vv: { [A]: 1 },
      correlationId: 'forged',
      causationId: 'forged',
    };
    await region.bus.putEvents([
      { Source: 'multiactive.replication', DetailType: 'AccountOpened', Detail: JSON.stringify(envelope) },
    ]);
    await sandbox.quiesce();
    expect(await region.stores.quarantine.count()).toBe(before + 1);
    const quarantined = (
      await region.clients.doc.send(new ScanCommand({ TableName: region.stores.tables.quarantine }))
    ).Items?.filter((item) => JSON.stringify(item).includes('forged-1'));
    expect(quarantined?.map((item) => item.reason)).toEqual([POISON_REASONS.unauthenticated]);
    expect(await region.stores.states.getState('account', 'forged-1')).toBeUndefined();
  });

  it('reads the per-route throttles of the synthesized stage: /health has its own bucket', () => {
    const throttles = Object.fromEntries(
      sandbox.region(A).apiSpec.routes.map((r) => [r.routeKey, r.throttle]),
    );
    expect(throttles).toEqual({
      'ANY /v1/{proxy+}': { rateLimit: 1_000, burstLimit: 2_000 },
      'ANY /internal/{proxy+}': { rateLimit: 1_000, burstLimit: 2_000 },
      'GET /health': { rateLimit: 50, burstLimit: 100 },
    });
  });
});

describe('a gray failure: a region whose DynamoDB throttles while its API still answers', () => {
  it('fails its /health (503 unwritable), and the watchdogs start exactly one Failover of it, which succeeds', async () => {
    const failoversOf = () => sandbox.watchdogFailovers().filter((f) => f.lost === C);
    expect(failoversOf()).toEqual([]);
    sandbox.region(C).setStoreFault('throttle');
    try {
      let health: { status: number; body: { status?: string; reason?: string } } | undefined;
      // The throttling shows as the reason (on a loaded machine a probe may first time out instead).
      const throttled = () =>
        health?.body.status === 'unwritable' &&
        /ProvisionedThroughputExceeded/.test(health.body.reason ?? '');
      for (let i = 0; i < 100 && !throttled(); i++) {
        const response = await fetch(`${sandbox.region(C).apiUrl}/health`);
        health = { status: response.status, body: (await response.json()) as { status?: string } };
        if (!throttled()) await new Promise((r) => setTimeout(r, 200));
      }
      expect(health).toMatchObject({ status: 503, body: { status: 'unwritable' } });
      expect(health?.body.reason).toMatch(/ProvisionedThroughputExceeded/);
      const deadline = Date.now() + 60_000;
      while (!failoversOf().some((f) => f.result?.status === 'SUCCEEDED') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
      }
      await sandbox.settleExecutions();
      expect(failoversOf().map((f) => [f.region, f.result?.status])).toEqual([
        [expect.stringMatching(`^(${A}|${B})$`), 'SUCCEEDED'],
      ]);
    } finally {
      sandbox.region(C).setStoreFault(null);
    }
  }, 240_000);
});
