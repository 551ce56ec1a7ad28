import { decider } from 'multiactive/testing';
import { describe, it } from 'vitest';
import { InsufficientFunds, WalletAlreadyOpen, WalletNotOpen, wallet } from '../src/wallet.ts';

const { given } = decider(wallet);
const opened = { type: 'WalletOpened', payload: { owner: 'ada', currency: 'EUR' } };
const credited = (amount: number) => ({ type: 'Credited', payload: { amount } });

describe('wallet (core)', () => {
  it('opens a wallet', () => {
    given([])
      .when({ type: 'OpenWallet', payload: { owner: 'ada', currency: 'EUR' } })
      .then([opened]);
  });

  it('refuses to open a wallet twice', () => {
    given([opened])
      .when({ type: 'OpenWallet', payload: { owner: 'bob', currency: 'EUR' } })
      .then(WalletAlreadyOpen);
  });

  it('refuses a credit to a wallet that was never opened', () => {
    given([])
      .when({ type: 'Credit', payload: { amount: 100 } })
      .then(WalletNotOpen);
  });

  it('debits what the balance covers', () => {
    given([opened, credited(500)])
      .when({ type: 'Debit', payload: { amount: 200 } })
      .thenState({ opened: true, owner: 'ada', currency: 'EUR', balance: 300 });
  });

  it('never overdraws', () => {
    given([opened, credited(500)])
      .when({ type: 'Debit', payload: { amount: 501 } })
      .then(new InsufficientFunds(500, 501));
  });
});
