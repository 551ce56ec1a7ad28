import { afterEach, describe, expect, it } from 'vitest';
import {
  type AccountState,
  account,
  HoldNotFound,
  InsufficientFunds,
  TRANSFER_RETENTION_MS,
  TransferClosed,
} from '../../../examples/bank/index.ts';
import { disableAllBugs, enableBugs } from '../../../lib/faults/index.ts';
import { type DomainEvent, parseCommand } from '../../../lib/model/index.ts';

/**
 * given events, when a command (decided by a home whose clock reads `now`, by default the command's own
 * time), then the events it decides (or the error it throws).
 */
function given(history: DomainEvent[]) {
  const state = history.reduce((s, e) => account.evolve(s, e), account.initialState()) as AccountState;
  return {
    state,
    when: (type: string, payload: Record<string, unknown>, now = Number(payload.at ?? 0)) =>
      account.decide(parseCommand(account, { type, payload }), state, { now }),
  };
}

const opened: DomainEvent = { type: 'AccountOpened', payload: { owner: 'Ada', currency: 'EUR' } };
const funded: DomainEvent[] = [opened, { type: 'Deposited', payload: { amount: 100 } }];
const hold = (transferId: string, amount: number, at = 1_000): DomainEvent => ({
  type: 'HoldPlaced',
  payload: { transferId, amount, expiresAt: at + 5_000, at },
});

afterEach(() => disableAllBugs());

describe('account transfer steps', () => {
  it('a hold reserves funds: the available balance drops, the balance does not', () => {
    const { state, when } = given([...funded, hold('t1', 70)]);
    expect(state).toMatchObject({ balance: 100, held: 70 });
    expect(() => when('Withdraw', { amount: 31 })).toThrow(InsufficientFunds);
    expect(when('Withdraw', { amount: 30 })).toHaveLength(1);
    expect(() => when('PlaceHold', { transferId: 't2', amount: 31, expiresAt: 9, at: 2 })).toThrow(
      InsufficientFunds,
    );
  });

  it('every step is idempotent by transfer id', () => {
    const placed = [...funded, hold('t1', 70)];
    expect(
      given(placed).when('PlaceHold', { transferId: 't1', amount: 70, expiresAt: 6_000, at: 1_000 }),
    ).toEqual([]);
    const settled = [
      ...placed,
      { type: 'HoldSettled', payload: { transferId: 't1', amount: 70, at: 1_100 } },
    ];
    expect(given(settled).state).toMatchObject({ balance: 30, held: 0 });
    expect(given(settled).when('SettleHold', { transferId: 't1', at: 1_200 })).toEqual([]);
    const credited = [
      ...funded,
      { type: 'TransferCredited', payload: { transferId: 't9', amount: 5, from: 'x', at: 1_000 } },
    ];
    expect(given(credited).state.balance).toBe(105);
    expect(
      given(credited).when('CreditTransfer', { transferId: 't9', amount: 5, from: 'x', at: 1_300 }),
    ).toEqual([]);
  });

  it('a Cancel before the Try leaves a mark that refuses the late Try: no hold is left hanging', () => {
    const released = given(funded).when('ReleaseHold', { transferId: 't1', at: 1_000 });
    expect(released).toEqual([{ type: 'HoldReleased', payload: { transferId: 't1', amount: 0, at: 1_000 } }]);
    const late = given([...funded, ...released]);
    expect(() => late.when('PlaceHold', { transferId: 't1', amount: 5, expiresAt: 9_000, at: 900 })).toThrow(
      TransferClosed,
    );
    expect(late.state).toMatchObject({ balance: 100, held: 0 });
  });

  it('refuses a Try sent at or after its expiry: no hold is placed already expired', () => {
    const { state, when } = given(funded);
    for (const at of [5_000, 5_001])
      expect(() => when('PlaceHold', { transferId: 't1', amount: 5, expiresAt: 5_000, at })).toThrow(
        TransferClosed,
      );
    expect(when('PlaceHold', { transferId: 't1', amount: 5, expiresAt: 5_000, at: 4_999 })).toHaveLength(1);
    expect(state).toMatchObject({ balance: 100 });
  });

  it("refuses a Try sent before its expiry but decided after it, by the source home's clock", () => {
    // The coordinator sent it at 4,000 (1 s before the expiry); a slow fence or a late delivery had the
    // source decide it at 5,200: a hold placed then would have outlived its expiry from the start.
    const { state, when } = given(funded);
    const step = { transferId: 't1', amount: 5, expiresAt: 5_000, at: 4_000 };
    expect(() => when('PlaceHold', step, 5_200)).toThrow(TransferClosed);
    expect(() => when('PlaceHold', step, 5_000)).toThrow(TransferClosed);
    expect(when('PlaceHold', step, 4_999)).toEqual([{ type: 'HoldPlaced', payload: step }]);
    expect(state).toMatchObject({ balance: 100 });
  });

  it('with the hold-expiry-by-sender-clock switch on, a Try decided after its expiry places the hold (the broken build)', () => {
    enableBugs(['hold-expiry-by-sender-clock']);
    const step = { transferId: 't1', amount: 5, expiresAt: 5_000, at: 4_000 };
    expect(given(funded).when('PlaceHold', step, 5_200)).toEqual([{ type: 'HoldPlaced', payload: step }]);
  });

  it('never settles a released hold, nor releases a settled one', () => {
    const placed = [...funded, hold('t1', 10)];
    const released = [
      ...placed,
      { type: 'HoldReleased', payload: { transferId: 't1', amount: 10, at: 1_100 } },
    ];
    expect(() => given(released).when('SettleHold', { transferId: 't1', at: 1_200 })).toThrow(HoldNotFound);
    const settled = [
      ...placed,
      { type: 'HoldSettled', payload: { transferId: 't1', amount: 10, at: 1_100 } },
    ];
    expect(() => given(settled).when('ReleaseHold', { transferId: 't1', at: 1_200 })).toThrow(TransferClosed);
  });

  it('forgets a finished transfer after the retention, and then refuses a Try sent before it', () => {
    const settled = [
      ...funded,
      hold('t1', 10),
      { type: 'HoldSettled', payload: { transferId: 't1', amount: 10, at: 1_100 } },
    ];
    const later = TRANSFER_RETENTION_MS + 2_000;
    const { state, when } = given([...settled, hold('t2', 5, later)]);
    expect(Object.keys(state.transfers ?? {})).toEqual(['t2']);
    expect(() => when('PlaceHold', { transferId: 't1', amount: 10, expiresAt: 6_000, at: 1_000 })).toThrow(
      TransferClosed,
    );
  });

  it('with the non-idempotent-confirm switch on, a repeated credit credits again (the broken build)', () => {
    enableBugs(['non-idempotent-confirm']);
    const credited = [
      ...funded,
      { type: 'TransferCredited', payload: { transferId: 't9', amount: 5, from: 'x', at: 1_000 } },
    ];
    expect(
      given(credited).when('CreditTransfer', { transferId: 't9', amount: 5, from: 'x', at: 1_300 }),
    ).toHaveLength(1);
  });
});
