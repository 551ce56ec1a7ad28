import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NotHomeError } from '../../../lib/ownership/index.ts';
import {
  decideWriteRoute,
  endpointUrl,
  formatConsistencyToken,
  InvalidConsistencyTokenError,
  parseConsistencyToken,
  parseRegionEndpoints,
  reaches,
  type WriteRouteInput,
} from '../../../lib/routing/index.ts';

const base: WriteRouteInput = {
  tier: 'core',
  region: 'us-east-1',
  partition: 9,
  home: { region: 'eu-west-1', epoch: 2 },
  homeDegraded: false,
  mode: 'forward',
  forwarded: false,
};

describe('write routing decision', () => {
  it('runs core writes at home and sends the others to the home by the configured mode', () => {
    expect(decideWriteRoute({ ...base, home: { region: 'us-east-1', epoch: 2 } })).toEqual({
      action: 'local',
    });
    expect(decideWriteRoute(base)).toEqual({ action: 'forward', region: 'eu-west-1', reason: 'not-home' });
    expect(decideWriteRoute({ ...base, mode: 'redirect' })).toMatchObject({ action: 'redirect' });
    expect(decideWriteRoute({ ...base, home: null })).toEqual({ action: 'local' });
  });

  it('never forwards a core write twice', () => {
    expect(() => decideWriteRoute({ ...base, forwarded: true })).toThrow(NotHomeError);
  });

  it('routes important writes to their home only while the home is degraded', () => {
    expect(decideWriteRoute({ ...base, tier: 'important' })).toEqual({ action: 'local' });
    expect(decideWriteRoute({ ...base, tier: 'important', homeDegraded: true })).toEqual({
      action: 'forward',
      region: 'eu-west-1',
      reason: 'degraded',
    });
    expect(decideWriteRoute({ ...base, tier: 'important', homeDegraded: true, forwarded: true })).toEqual({
      action: 'local',
    });
    expect(decideWriteRoute({ ...base, tier: 'ordinary', homeDegraded: true })).toEqual({ action: 'local' });
  });
});

describe('consistency tokens and endpoints', () => {
  it('parses a token into its HLC and origin and compares HLCs, not strings', () => {
    const token = parseConsistencyToken('018bcfe56800.000003.eu-west-1');
    expect(token.origin).toBe('eu-west-1');
    expect(reaches('018bcfe56800.000003.eu-west-1', token)).toBe(true);
    expect(reaches('018bcfe56800.000002.us-east-1', token)).toBe(false);
    expect(reaches('018bcfe56801.000000.ap-east-1', token)).toBe(true);
    expect(reaches(null, token)).toBe(false);
    expect(() => parseConsistencyToken('yesterday')).toThrow(InvalidConsistencyTokenError);
  });

  it("carries a core write's seq, epoch and event id, and reads back exactly what it wrote (property)", () => {
    const ulidChars = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const eventId = fc
      .array(fc.constantFrom(...ulidChars), { minLength: 26, maxLength: 26 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.record({
          wall: fc.integer({ min: 0, max: 2 ** 40 }),
          seq: fc.integer({ min: 1, max: 2 ** 40 }),
          epoch: fc.integer({ min: 0, max: 2 ** 40 }),
          eventId,
        }),
        ({ wall, seq, epoch, eventId: id }) => {
          const hlc = `${wall.toString(16).padStart(12, '0')}.000001.eu-west-1`;
          const issued = formatConsistencyToken({ hlc, write: { seq, epoch, eventId: id } });
          const token = parseConsistencyToken(issued);
          expect(token).toMatchObject({
            issued,
            raw: hlc,
            origin: 'eu-west-1',
            write: { seq, epoch, eventId: id },
          });
        },
      ),
    );
  });

  it('refuses a core part that this API did not issue', () => {
    const hlc = '018bcfe56800.000003.eu-west-1';
    for (const bad of [
      `${hlc}~1~2`,
      `${hlc}~0~2~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${hlc}~01~2~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${hlc}~1~x~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      `${hlc}~1~2~01ARZ3NDEKTSV4RRFFQ69G5FAU`, // U is not in the ULID alphabet
      `${hlc}~1~2~01ARZ3NDEKTSV4RRFFQ69G5FAV~3`,
      `nothlc~1~2~01ARZ3NDEKTSV4RRFFQ69G5FAV`,
    ])
      expect(() => parseConsistencyToken(bad), bad).toThrow(InvalidConsistencyTokenError);
  });

  it('parses REGION_ENDPOINTS and joins paths', () => {
    const endpoints = parseRegionEndpoints('{"eu-west-1":"https://eu-west-1.example.com/"}');
    expect(endpointUrl(endpoints['eu-west-1']!, '/v1/account/a/commands')).toBe(
      'https://eu-west-1.example.com/v1/account/a/commands',
    );
    expect(() => parseRegionEndpoints('{"eu-west-1":"not a url"}')).toThrow();
  });
});
