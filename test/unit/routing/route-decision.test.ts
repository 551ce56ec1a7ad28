import { describe, expect, it } from 'vitest';
import { NotHomeError } from '../../../lib/ownership/index.ts';
import {
  decideWriteRoute,
  endpointUrl,
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

  it('parses REGION_ENDPOINTS and joins paths', () => {
    const endpoints = parseRegionEndpoints('{"eu-west-1":"https://eu-west-1.example.com/"}');
    expect(endpointUrl(endpoints['eu-west-1']!, '/v1/account/a/commands')).toBe(
      'https://eu-west-1.example.com/v1/account/a/commands',
    );
    expect(() => parseRegionEndpoints('{"eu-west-1":"not a url"}')).toThrow();
  });
});
