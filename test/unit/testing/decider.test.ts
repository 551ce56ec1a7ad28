import { AssertionError } from 'node:assert/strict';
import { describe, expect, it } from 'vitest';
import { account, InsufficientFunds, profile } from '../../../examples/bank/index.ts';
import {
  defineAggregate,
  PayloadValidationError,
  UnknownCommandError,
  UnknownEventTypeError,
  z,
} from '../../../lib/index.ts';
import { decider, GIVEN_NOW } from '../../../lib/testing/index.ts';

const { given } = decider(account);
const opened = { type: 'AccountOpened', payload: { owner: 'ada', currency: 'EUR' } };
const deposited = (amount: number) => ({ type: 'Deposited', payload: { amount } });
const withdraw = (amount: number) => ({ type: 'Withdraw', payload: { amount } });

/** A decider that stamps the clock it decided at, and can be told to decide an event it never declared. */
const clock = defineAggregate<{ at: number | null }>({
  name: 'clock',
  tier: 'ordinary',
  commands: { Tick: z.strictObject({}), Stray: z.strictObject({}), Bad: z.strictObject({}) },
  events: { Ticked: { version: 1, schema: z.strictObject({ at: z.number() }) } },
  initialState: () => ({ at: null }),
  decide(command, _state, { now }) {
    if (command.type === 'Stray') return [{ type: 'Strayed', payload: {} }];
    if (command.type === 'Bad') return [{ type: 'Ticked', payload: { at: 'noon' } }];
    return [{ type: 'Ticked', payload: { at: now } }];
  },
  evolve: (_state, event) => ({ at: Number(event.payload.at) }),
});

describe('decider(aggregate).given(events).when(command).then(...)', () => {
  it('passes when the command decides the expected events, and fails when they differ', () => {
    given([opened, deposited(500)])
      .when(withdraw(200))
      .then([{ type: 'Withdrawn', payload: { amount: 200 } }]);
    expect(() =>
      given([opened, deposited(500)])
        .when(withdraw(200))
        .then([{ type: 'Withdrawn', payload: { amount: 201 } }]),
    ).toThrow(AssertionError);
    expect(() =>
      given([opened])
        .when({ type: 'Deposit', payload: { amount: 5 } })
        .then([]),
    ).toThrow('the decided events differ');
  });

  it('passes on the error class the decider refuses with, and fails on another outcome', () => {
    given([opened, deposited(100)])
      .when(withdraw(500))
      .then(InsufficientFunds);
    expect(() =>
      given([opened, deposited(100)])
        .when(withdraw(50))
        .then(InsufficientFunds),
    ).toThrow(/expected InsufficientFunds, but the command decided \[.*"type":"Withdrawn"/);
    expect(() =>
      given([opened, deposited(100)])
        .when(withdraw(500))
        .then(PayloadValidationError),
    ).toThrow(
      'expected PayloadValidationError, but it threw InsufficientFunds: available balance 100 is less than 500',
    );
    expect(() =>
      given([opened, deposited(100)])
        .when(withdraw(500))
        .then([]),
    ).toThrow('expected events, but the command failed with InsufficientFunds');
  });

  it("compares an expected error instance's message and details", () => {
    given([opened, deposited(100)])
      .when(withdraw(500))
      .then(new InsufficientFunds(100, 500));
    expect(() =>
      given([opened, deposited(100)])
        .when(withdraw(500))
        .then(new InsufficientFunds(100, 499)),
    ).toThrow(AssertionError);
  });

  it('validates the command as the API does: schema and command name', () => {
    given([opened]).when(withdraw(-1)).then(PayloadValidationError);
    given([opened]).when({ type: 'Steal', payload: {} }).then(UnknownCommandError);
  });

  it('checks the state after the given and decided events, as the state table keeps it', () => {
    given([opened, deposited(500)])
      .when(withdraw(200))
      .thenState({ opened: true, owner: 'ada', currency: 'EUR', balance: 300 });
    expect(() =>
      given([opened, deposited(500)])
        .when(withdraw(200))
        .thenState({ opened: true, owner: 'ada', currency: 'EUR', balance: 500 }),
    ).toThrow('the state differs');
  });

  it('upcasts a given event of an older schema version', () => {
    decider(profile)
      .given([{ type: 'DisplayNameSet', schemaVersion: 1, payload: { name: 'Ada' } }])
      .when({ type: 'SetEmail', payload: { email: 'ada@example.com' } })
      .thenState({ displayName: 'Ada', email: 'ada@example.com', preferences: [] });
  });

  it('names a given event it cannot fold', () => {
    expect(() => given([opened, { type: 'Teleported', payload: {} }])).toThrow(
      'given event #2 (Teleported) cannot be folded: UnknownEventTypeError',
    );
    expect(() => given([{ type: 'Deposited', payload: { amount: 'ten' } }])).toThrow(
      'given event #1 (Deposited) cannot be folded: PayloadValidationError',
    );
  });

  it('refuses decided events the aggregate does not declare or whose payload breaks their schema', () => {
    decider(clock).given().when({ type: 'Stray' }).then(UnknownEventTypeError);
    decider(clock).given().when({ type: 'Bad' }).then(PayloadValidationError);
  });

  it('decides at a fixed clock unless told another', () => {
    decider(clock)
      .given()
      .when({ type: 'Tick' })
      .then([{ type: 'Ticked', payload: { at: GIVEN_NOW } }]);
    decider(clock, { now: 5 }).given().when({ type: 'Tick' }).thenState({ at: 5 });
    decider(clock).given().when({ type: 'Tick' }, { now: 7 }).thenState({ at: 7 });
  });

  it('refuses to be awaited without an expectation instead of passing silently', async () => {
    await expect((async () => given([]).when(withdraw(1)) as unknown)()).rejects.toThrow(
      'has no expectation',
    );
  });
});
