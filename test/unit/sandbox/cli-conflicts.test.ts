import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/sandbox/cli-args.ts';
import { conflictsRequest } from '../../../lib/sandbox/cli-remote.ts';

describe('multiactive conflicts', () => {
  it('lists open conflicts', () => {
    expect(conflictsRequest(['list'])).toEqual({ action: 'conflicts-list' });
  });

  it('resolves by choosing a branch, in the region given by --in', () => {
    expect(conflictsRequest(['resolve', 'profile', 'u1', '--choose', 'E1', '--in', 'eu-west-1'])).toEqual({
      action: 'conflicts-resolve',
      region: 'eu-west-1',
      input: { aggregateType: 'profile', aggregateId: 'u1', resolution: { choose: 'E1' }, resolvedBy: 'cli' },
    });
  });

  it('resolves with a merged state given as JSON', () => {
    expect(conflictsRequest(['resolve', 'profile', 'u1', '--state', '{"displayName":"x"}'])).toMatchObject({
      input: { resolution: { state: { displayName: 'x' } } },
    });
  });

  it('refuses both or neither of --choose and --state, bad JSON and unknown verbs', () => {
    expect(() => conflictsRequest(['resolve', 'profile', 'u1'])).toThrow(UsageError);
    expect(() => conflictsRequest(['resolve', 'profile', 'u1', '--choose', 'E', '--state', '{}'])).toThrow(
      UsageError,
    );
    expect(() => conflictsRequest(['resolve', 'profile', 'u1', '--state', '{'])).toThrow(/JSON/);
    expect(() => conflictsRequest(['resolve', 'profile'])).toThrow(UsageError);
    expect(() => conflictsRequest(['drop'])).toThrow(UsageError);
  });
});
