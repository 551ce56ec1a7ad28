import { describe, expect, it } from 'vitest';
import { ServiceBreakers } from '../../../lib/resilience/index.ts';
import {
  CommandRouter,
  PeerClient,
  type PeerRequest,
  type PeerResponse,
  ROUTING_HEADERS,
} from '../../../lib/routing/index.ts';

const inProgress: PeerResponse = {
  status: 409,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: 'IdempotencyAlreadyInProgressError', message: 'in progress' }),
};
const done: PeerResponse = { status: 200, headers: {}, body: JSON.stringify({ version: 2 }) };

/** A router whose peer answers from a script (the transport is the router's port to the network). */
function routerWith(answers: PeerResponse[]) {
  const seen: PeerRequest[] = [];
  const router = new CommandRouter({
    region: 'eu-west-1',
    partitions: 256,
    mode: 'forward',
    homes: { entryFor: async () => ({ home: 'us-east-1', epoch: 1 }), invalidate: () => {} },
    peers: new PeerClient({
      transport: {
        send: async (_region, request) => {
          seen.push(request);
          return answers.shift() ?? done;
        },
      },
      breakers: new ServiceBreakers({
        errorRate: 0.5,
        latencyMs: 2_000,
        halfOpenAfterMs: 1_000,
        samplingMs: 2_000,
        minimumRps: 2,
      }),
      timeoutMs: 1_000,
    }),
    inProgressRetryMs: [1, 1],
  });
  return { router, seen };
}

const write: PeerRequest = { method: 'POST', path: '/v1/account/a1/commands', headers: {}, body: '{}' };

describe('forwarded writes carry one request id', () => {
  it('sends a fresh request id per forwarded write and the same one when asking again', async () => {
    const { router, seen } = routerWith([inProgress]);
    const answer = await router.forward('us-east-1', write);
    expect(answer.status).toBe(200);
    expect(seen).toHaveLength(2);
    const ids = seen.map((r) => r.headers[ROUTING_HEADERS.requestId]);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    await router.forward('us-east-1', write);
    expect(seen[2]!.headers[ROUTING_HEADERS.requestId]).not.toBe(ids[0]);
  });

  it('answers 503 (outcome unknown) when the home still runs the request after every retry', async () => {
    const { router, seen } = routerWith([inProgress, inProgress, inProgress]);
    const answer = await router.forward('us-east-1', write);
    expect(seen).toHaveLength(3);
    expect(answer.status).toBe(503);
    expect(answer.headers['Retry-After']).toBe('1');
    expect(JSON.parse(answer.body)).toMatchObject({
      error: 'ForwardInProgress',
      details: { home: 'us-east-1' },
    });
  });

  it('passes any other 409 through as the home answered it', async () => {
    const conflict = { ...inProgress, body: JSON.stringify({ error: 'ContentionError' }) };
    const { router, seen } = routerWith([conflict]);
    expect((await router.forward('us-east-1', write)).status).toBe(409);
    expect(seen).toHaveLength(1);
  });
});
