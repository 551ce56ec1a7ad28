import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ProfileState, profile } from '../../../examples/bank/index.ts';
import { encodeHlc, incrementVector, mergeVectors, type VersionVector } from '../../../lib/clock/index.ts';
import {
  ArchivedEventInFoldError,
  conflictPairsFor,
  headsOf,
  materialize,
} from '../../../lib/conflict/index.ts';
import { defineAggregate, type EventEnvelope } from '../../../lib/model/index.ts';
import { sampleEnvelope } from '../../support/envelopes.ts';

let wall = 1_800_000_000_000;
function event(
  origin: string,
  vv: VersionVector,
  type: string,
  payload: Record<string, unknown>,
): EventEnvelope {
  return sampleEnvelope({
    aggregateType: 'profile',
    aggregateId: 'p',
    origin,
    vv,
    type,
    schemaVersion: type === 'DisplayNameSet' ? 2 : 1,
    payload,
    hlc: encodeHlc({ wall: wall++, logical: 0, region: origin }),
  });
}

const ruleProfile = defineAggregate<ProfileState>({
  ...profile,
  conflict: { ...profile.conflict!, policy: 'rule' },
});

describe('materialize', () => {
  const base = event('us-east-1', { 'us-east-1': 1 }, 'DisplayNameSet', { displayName: 'base' });
  const east = event('us-east-1', incrementVector(base.vv, 'us-east-1'), 'DisplayNameSet', {
    displayName: 'east',
  });
  const west = event('eu-west-1', incrementVector(base.vv, 'eu-west-1'), 'DisplayNameSet', {
    displayName: 'west',
  });
  const set = [base, east, west];

  it('lww: the same winner (highest HLC) in every arrival order', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(set, { minLength: 3, maxLength: 3 }), (order) => {
        const { record } = materialize({
          aggregate: profile,
          aggregateId: 'p',
          policy: 'lww',
          events: order,
        });
        expect(JSON.parse(record.state).displayName).toBe('west');
        expect(record.version).toBe(3);
        expect(record.vv).toEqual(mergeVectors(east.vv, west.vv));
      }),
    );
  });

  it('rule: concurrent preference sets are merged with the aggregate merge (set union)', () => {
    const a = event('us-east-1', { 'us-east-1': 1 }, 'PreferencesSet', { preferences: ['a', 'b'] });
    const b = event('eu-west-1', { 'eu-west-1': 1 }, 'PreferencesSet', { preferences: ['c'] });
    const after = event('eu-west-1', { 'us-east-1': 1, 'eu-west-1': 2 }, 'PreferencesSet', {
      preferences: ['z'],
    });
    const merged = materialize({ aggregate: ruleProfile, aggregateId: 'p', policy: 'rule', events: [b, a] });
    expect(JSON.parse(merged.record.state).preferences).toEqual(['a', 'b', 'c']);
    const later = materialize({
      aggregate: ruleProfile,
      aggregateId: 'p',
      policy: 'rule',
      events: [after, b, a],
    });
    expect(JSON.parse(later.record.state).preferences).toEqual(['z']);
  });

  it('manual: two heads freeze the state at their common ancestors', () => {
    const { record, heads } = materialize({
      aggregate: profile,
      aggregateId: 'p',
      policy: 'manual',
      events: set,
    });
    expect(record.frozen).toBe(true);
    expect(JSON.parse(record.state).displayName).toBe('base');
    expect(heads.map((h) => h.eventId).sort()).toEqual([east.eventId, west.eventId].sort());
    expect(headsOf([base, east]).map((h) => h.eventId)).toEqual([east.eventId]);
  });

  it('manual: a ConflictResolved that has seen both heads unfreezes with the chosen state', () => {
    const resolution = event(
      'eu-west-1',
      incrementVector(mergeVectors(east.vv, west.vv), 'eu-west-1'),
      'ConflictResolved',
      {
        resolves: [east.eventId, west.eventId],
        state: { displayName: 'chosen', email: null, preferences: [] },
      },
    );
    const { record } = materialize({
      aggregate: profile,
      aggregateId: 'p',
      policy: 'manual',
      events: [...set, resolution],
    });
    expect(record.frozen).toBe(false);
    expect(JSON.parse(record.state).displayName).toBe('chosen');
    const pairs = conflictPairsFor({ type: 'profile', id: 'p' }, resolution, set);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]?.resolvedBy).toBe(resolution.eventId);
  });

  it('records the same conflict pairs whatever the order events arrive in', () => {
    const later = event('us-east-1', incrementVector(east.vv, 'us-east-1'), 'EmailSet', {
      email: 'x@example.com',
    });
    const all = [base, east, west, later];
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: 4, maxLength: 4 }), (order) => {
        const seen: EventEnvelope[] = [];
        const ids = new Set<string>();
        for (const e of order) {
          seen.push(e);
          for (const p of conflictPairsFor({ type: 'profile', id: 'p' }, e, seen))
            ids.add(p.eventIds.join('#'));
        }
        expect([...ids].sort()).toEqual(
          [
            [east, west],
            [later, west],
          ]
            .map(([x, y]) => [x!.eventId, y!.eventId].sort().join('#'))
            .sort(),
        );
      }),
    );
  });
});

describe('materialize over an archived stub (a core type with a retention moved off core)', () => {
  it('throws ArchivedEventInFoldError naming the event, not a payload validation error', () => {
    const whole = event('us-east-1', { 'us-east-1': 1 }, 'DisplayNameSet', { displayName: 'a' });
    // As the store reads a stub: payload `{}`, `archived` set (lib/store marshal).
    const stub = { ...event('us-east-1', { 'us-east-1': 2 }, 'DisplayNameSet', {}), seq: 2, archived: true };
    const fold = () =>
      materialize({ aggregate: profile, aggregateId: 'p', policy: 'lww', events: [whole, stub] });
    expect(fold).toThrow(ArchivedEventInFoldError);
    expect(fold).toThrow(new RegExp(`event ${stub.eventId} \\(seq 2\\) is an archived stub`));
    expect(
      materialize({ aggregate: profile, aggregateId: 'p', policy: 'lww', events: [whole] }).record.version,
    ).toBe(1);
  });
});
