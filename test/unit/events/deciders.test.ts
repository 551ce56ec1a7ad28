import { describe, expect, it } from 'vitest';
import {
  AccountNotOpen,
  account,
  activity,
  InsufficientFunds,
  profile,
  RECENT_ENTRIES,
} from '../../../examples/bank/index.ts';
import type { AggregateDefinition, DomainEvent } from '../../../lib/model/index.ts';
import {
  createRegistry,
  parseCommand,
  UnsupportedSchemaVersionError,
  upcastEvent,
} from '../../../lib/model/index.ts';

/** given events, when a command, then the events it decides (or the error it throws). */
function given<S>(aggregate: AggregateDefinition<S>, history: DomainEvent[]) {
  const state = history.reduce((s, e) => aggregate.evolve(s, e), aggregate.initialState());
  return {
    state,
    when: (type: string, payload: Record<string, unknown>) =>
      aggregate.decide(parseCommand(aggregate, { type, payload }), state, { now: 0 }),
  };
}

const opened: DomainEvent = { type: 'AccountOpened', payload: { owner: 'Ada', currency: 'EUR' } };

describe('account decider (core)', () => {
  it('deposits into an open account', () => {
    expect(given(account, [opened]).when('Deposit', { amount: 5 })).toEqual([
      { type: 'Deposited', payload: { amount: 5 } },
    ]);
  });

  it('never overdraws: a withdrawal above the balance is refused with InsufficientFunds', () => {
    const history = [opened, { type: 'Deposited', payload: { amount: 10 } }];
    expect(given(account, history).when('Withdraw', { amount: 10 })).toHaveLength(1);
    expect(() => given(account, history).when('Withdraw', { amount: 11 })).toThrow(InsufficientFunds);
  });

  it('refuses a deposit to an account that was never opened', () => {
    expect(() => given(account, []).when('Deposit', { amount: 1 })).toThrow(AccountNotOpen);
  });

  it('folds the balance from its events', () => {
    const { state } = given(account, [
      opened,
      { type: 'Deposited', payload: { amount: 30 } },
      { type: 'Withdrawn', payload: { amount: 12 } },
    ]);
    expect(state).toEqual({ opened: true, owner: 'Ada', currency: 'EUR', balance: 18 });
  });
});

describe('profile decider (important)', () => {
  it('sets each field with its own event, so folding in order is last-writer-wins per field', () => {
    const { state } = given(profile, [
      { type: 'DisplayNameSet', payload: { displayName: 'A' } },
      { type: 'EmailSet', payload: { email: 'a@example.com' } },
      { type: 'DisplayNameSet', payload: { displayName: 'B' } },
    ]);
    expect(state).toMatchObject({ displayName: 'B', email: 'a@example.com' });
  });

  it('upcasts DisplayNameSet v1 ({ name }) to v2 ({ displayName })', () => {
    const event = upcastEvent(profile, {
      type: 'DisplayNameSet',
      schemaVersion: 1,
      payload: { name: 'Old' },
    });
    expect(event).toEqual({ type: 'DisplayNameSet', payload: { displayName: 'Old' } });
  });

  it('refuses a schema version newer than the code knows', () => {
    expect(() =>
      upcastEvent(profile, { type: 'EmailSet', schemaVersion: 2, payload: { email: 'x' } }),
    ).toThrow(UnsupportedSchemaVersionError);
  });

  it('merges concurrent preference sets as a set union under the rule policy', () => {
    const state = profile.evolve(profile.initialState(), {
      type: 'PreferencesSet',
      payload: { preferences: ['b', 'a'] },
    });
    const merged = profile.conflict?.merge?.(state, {
      type: 'PreferencesSet',
      payload: { preferences: ['c', 'a'] },
    });
    expect(merged?.preferences).toEqual(['a', 'b', 'c']);
  });
});

describe('activity decider (ordinary)', () => {
  it('appends entries and keeps only the most recent ones in the projection', () => {
    const history = Array.from({ length: RECENT_ENTRIES + 5 }, (_, i) => ({
      type: 'EntryAppended',
      payload: { kind: 'click', message: String(i) },
    }));
    const { state } = given(activity, history);
    expect(state.count).toBe(RECENT_ENTRIES + 5);
    expect(state.recent).toHaveLength(RECENT_ENTRIES);
    expect(state.recent[0]?.message).toBe('5');
  });
});

describe('aggregate registry', () => {
  it('refuses a configuration whose tier disagrees with the code', () => {
    const topology = { aggregates: [{ type: 'account', tier: 'important', conflict: 'lww' }] } as never;
    expect(() => createRegistry([account], topology)).toThrow('core-tier in code but important in config');
  });
});
