import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRequest } from '../../bin/cli/inspect.ts';
import { partitionOf } from '../../lib/ownership/index.ts';
import { startControlServer } from '../../lib/sandbox/control/server.ts';
import { Sandbox } from '../../lib/sandbox/platform/sandbox.ts';
import { expectStatus, untilServed } from '../support/answers.ts';

const A = 'us-east-1';
const B = 'eu-west-1';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await Sandbox.start({ fast: true });
}, 360_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

async function post(region: string, type: string, id: string, command: unknown) {
  const response = await sandbox.apiClient.fetch(
    `${sandbox.region(region).apiUrl}/v1/${type}/${id}/commands`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(command),
      followRedirects: false,
    },
  );
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: response.status, region: response.headers.get('x-multiactive-region'), body };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runbooks in the sandbox (three regions, fast timers)', () => {
  it('switches one partition over to another region with the Switchover state machine', async () => {
    const id = `e2e-switch-${Date.now().toString(36)}`;
    // A fresh sandbox's first write claims the partition: on a loaded machine it can be answered 503 (sent
    // again with the same idempotencyKey, as a client would).
    const open = {
      type: 'OpenAccount',
      payload: { owner: 'Ada', currency: 'EUR' },
      idempotencyKey: `${id}-open`,
    };
    expectStatus(await untilServed(() => post(A, 'account', id, open)), 200);
    const partition = partitionOf(id, sandbox.topology.partitions);

    const result = await sandbox.runStateMachine(B, 'Switchover', {
      partitions: [partition],
      to: B,
      reason: 'e2e',
    });

    expect(result.taskErrors).toEqual([]);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(
      expect.arrayContaining(['Fence', 'CheckWatermark', 'MoveHome', 'Unfence', 'VerifyProbe']),
    );
    const entry = await sandbox.region(B).multiRegion.map.read(partition);
    expect(entry).toMatchObject({ home: B, state: 'active' });
    await sleep(Math.max(0, entry!.activeFrom - Date.now()) + 200);
    let written = await post(B, 'account', id, { type: 'Deposit', payload: { amount: 5 } });
    for (let i = 0; i < 20 && written.status !== 200; i++) {
      await sleep(250);
      written = await post(B, 'account', id, { type: 'Deposit', payload: { amount: 5 } });
    }
    expect({ status: written.status, region: written.region }, JSON.stringify(written.body)).toEqual({
      status: 200,
      region: B,
    });
  }, 120_000);

  it('runs ResolveConflict through its tasks: an aggregate without an open conflict fails and stays as it was', async () => {
    const id = `e2e-resolve-${Date.now().toString(36)}`;
    const named = { type: 'SetDisplayName', payload: { displayName: 'a' }, idempotencyKey: `${id}-name` };
    expectStatus(await untilServed(() => post(A, 'profile', id, named)), 200);
    const result = await sandbox.runStateMachine(A, 'ResolveConflict', {
      aggregateType: 'profile',
      aggregateId: id,
      resolution: { state: { displayName: 'b', email: null, preferences: [] } },
    });
    expect(result.status).toBe('FAILED');
    expect(result.taskErrors[0]).toMatchObject({ state: 'LoadConflict', error: 'ConflictNotFound' });
  }, 60_000);

  it('serves conflicts list / resolve on the control endpoint the CLI calls', async () => {
    const control = await startControlServer(sandbox, () => undefined);
    try {
      const call = async (request: unknown) => {
        const response = await fetch(control.url, { method: 'POST', body: JSON.stringify(request) });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      expect(await call({ action: 'conflicts-list' })).toEqual({ status: 200, body: { open: [] } });
      const resolved = await call(
        resolveRequest('profile', 'e2e-none', { choose: '01HZZZZZZZZZZZZZZZZZZZZZZZ', in: B }),
      );
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({
        region: B,
        status: 'FAILED',
        stateMachine: expect.stringContaining('ResolveConflict'),
      });
    } finally {
      control.server.close();
    }
  }, 60_000);
});
