import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSignedDetail, EVENT_SIGNATURE_FIELD, signedDetail } from '../../../lib/auth/index.ts';

const key = randomBytes(32);
const envelope = {
  eventId: '01JF0RGED0000000000000000A',
  aggregateType: 'account',
  aggregateId: 'acc-1',
  seq: 1,
  type: 'AccountOpened',
  payload: { owner: 'Ada', currency: 'EUR' },
  origin: 'us-east-1',
  hlc: '0193a1b2c3d4.000000.us-east-1',
  vv: { 'us-east-1': 1 },
};

describe('replication event signatures', () => {
  it('give back exactly the envelope that was signed, whatever the order of its keys', () => {
    const signed = signedDetail(envelope, key);
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect(checkSignedDetail(JSON.parse(JSON.stringify(reordered)), key)).toEqual({ ok: true, envelope });
  });

  it('refuse any altered field, a missing signature, another key and details that are no object', () => {
    const signed = signedDetail(envelope, key);
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(envelope)), fc.jsonValue(), (field, value) => {
        fc.pre(JSON.stringify(value) !== JSON.stringify((envelope as Record<string, unknown>)[field]));
        const altered = { ...signed, [field]: value };
        expect(checkSignedDetail(altered, key)).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/forged or altered/),
        });
      }),
      { numRuns: 100 },
    );
    const { [EVENT_SIGNATURE_FIELD]: _, ...unsigned } = signed;
    expect(checkSignedDetail(unsigned, key)).toEqual({ ok: false, reason: 'the event carries no signature' });
    expect(checkSignedDetail(signedDetail(envelope, randomBytes(32)), key).ok).toBe(false);
    expect(checkSignedDetail({ ...signed, extra: 1 }, key).ok).toBe(false);
    for (const detail of [null, 'text', [signed]]) expect(checkSignedDetail(detail, key).ok).toBe(false);
  });
});
