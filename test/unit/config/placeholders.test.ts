import { describe, expect, it } from 'vitest';
import bank from '../../../examples/bank/multiactive.config.ts';
import { parseTopology, placeholdersOf } from '../../../lib/config/index.ts';

const withSettings = (overrides: Record<string, unknown>) =>
  parseTopology({
    ...bank.topology('prod'),
    account: '210987654321',
    gtm: { domainName: 'api.acme.io', hostedZoneId: 'Z08123456ABCDEFGHIJK', hostedZoneName: 'acme.io' },
    ...overrides,
  });

describe('placeholdersOf', () => {
  it('names every sample the shipped environments still hold', () => {
    expect(placeholdersOf(bank.topology('dev')).map((p) => p.path)).toEqual([
      'account',
      'gtm.hostedZoneId',
      'gtm.domainName',
    ]);
    expect(placeholdersOf(bank.topology('prod')).map((p) => p.path)).toEqual([
      'account',
      'gtm.hostedZoneId',
      'gtm.domainName',
    ]);
  });

  it('finds nothing in a configuration with a real account, zone and names', () => {
    expect(placeholdersOf(withSettings({}))).toEqual([]);
    expect(placeholdersOf(withSettings({ monitoring: { alarmEmail: 'oncall@acme.io' } }))).toEqual([]);
  });

  it.each([
    ['account', { account: '123456789012' }],
    ['account', { account: '000000000000' }],
    ['gtm.hostedZoneId', { gtm: { domainName: 'api.acme.io', hostedZoneName: 'acme.io' } }],
    [
      'gtm.hostedZoneId',
      {
        gtm: { domainName: 'api.acme.io', hostedZoneId: 'Z08123456ABCDEFGHIJK', hostedZoneName: 'shop.test' },
      },
    ],
    [
      'gtm.domainName',
      {
        gtm: {
          domainName: 'api.example.org',
          hostedZoneId: 'Z08123456ABCDEFGHIJK',
          hostedZoneName: 'acme.io',
        },
      },
    ],
    ['monitoring.alarmEmail', { monitoring: { alarmEmail: 'ops@example.com' } }],
  ])('flags %s in %j', (path, overrides) => {
    expect(placeholdersOf(withSettings(overrides)).map((p) => p.path)).toContain(path);
  });

  it('refuses an alarm e-mail that is not an address', () => {
    expect(() => withSettings({ monitoring: { alarmEmail: 'oncall' } })).toThrow(/monitoring.alarmEmail/);
  });
});
