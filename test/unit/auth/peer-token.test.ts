import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  PEER_CLOCK_TOLERANCE_SECONDS,
  PEER_TOKEN_TTL_SECONDS,
  type PeerRequestBinding,
  signPeerToken,
  UnauthenticatedError,
  verifyPeerToken,
} from '../../../lib/auth/index.ts';

const key = randomBytes(32);
const env = 'dev';
const request: PeerRequestBinding = {
  method: 'POST',
  path: '/internal/v1/account/acc-1/commands',
  body: '{"type":"Deposit","payload":{"amount":5}}',
};
const sign = (overrides: Partial<Parameters<typeof signPeerToken>[0]> = {}) =>
  signPeerToken({
    key,
    env,
    from: 'eu-west-1',
    to: 'us-east-1',
    requestId: 'req-0001-abcd',
    request,
    ...overrides,
  });
const verify = (token: string | undefined, overrides: Partial<Parameters<typeof verifyPeerToken>[0]> = {}) =>
  verifyPeerToken({
    token,
    key,
    env,
    region: 'us-east-1',
    peers: ['eu-west-1', 'ap-southeast-1'],
    request,
    ...overrides,
  });

describe('peer tokens', () => {
  it('name the sending region and the request id of the request they were signed for', async () => {
    await expect(verify(await sign())).resolves.toEqual({ from: 'eu-west-1', requestId: 'req-0001-abcd' });
  });

  it('fit no other request: any change of method, path or body is refused', async () => {
    const token = await sign();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
          path: fc.oneof(
            fc.constant(request.path),
            fc.webPath().map((p) => `/internal${p}`),
          ),
          body: fc.oneof(fc.constant(request.body), fc.string(), fc.constant(undefined)),
        }),
        async (other) => {
          fc.pre(
            other.method !== request.method || other.path !== request.path || other.body !== request.body,
          );
          await expect(verify(token, { request: other })).rejects.toBeInstanceOf(UnauthenticatedError);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('are refused without a token, with another key, from a region that is no peer, or for another region', async () => {
    await expect(verify(undefined)).rejects.toThrow('no peer token');
    await expect(verify(await sign({ key: randomBytes(32) }))).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verify(await sign({ from: 'mars-north-1' }))).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verify(await sign({ to: 'ap-southeast-1' }))).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(verify(await sign({ env: 'prod' }))).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('expire: a token replayed after its lifetime and the clock tolerance is refused', async () => {
    const token = await sign();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + (PEER_TOKEN_TTL_SECONDS + PEER_CLOCK_TOLERANCE_SECONDS - 2) * 1_000);
      await expect(verify(token)).resolves.toMatchObject({ from: 'eu-west-1' });
      vi.setSystemTime(Date.now() + 4_000);
      await expect(verify(token)).rejects.toThrow(/peer token refused/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuse to carry a request id that could not be an idempotency key', async () => {
    await expect(sign({ requestId: 'a#b' })).rejects.toBeInstanceOf(RangeError);
  });
});
