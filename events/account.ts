import { z } from 'zod';
import { DomainError, type DomainEvent, defineAggregate } from '../lib/model/index.ts';

/** Balance in integer minor units (cents): no floating-point money. */
export interface AccountState {
  readonly opened: boolean;
  readonly owner: string | null;
  readonly currency: string | null;
  readonly balance: number;
}

const amount = z.strictObject({ amount: z.number().int().positive().max(1_000_000_000_00) });

/** Withdrawal larger than the balance: accounts never overdraw. */
export class InsufficientFunds extends DomainError {
  override readonly name = 'InsufficientFunds';
  constructor(balance: number, requested: number) {
    super('InsufficientFunds', `balance ${balance} is less than ${requested}`, { balance, requested });
  }
}

/** A command other than OpenAccount sent to an account that does not exist yet. */
export class AccountNotOpen extends DomainError {
  override readonly name = 'AccountNotOpen';
  constructor() {
    super('AccountNotOpen', 'the account has not been opened');
  }
}

/** OpenAccount sent twice. */
export class AccountAlreadyOpen extends DomainError {
  override readonly name = 'AccountAlreadyOpen';
  constructor() {
    super('AccountAlreadyOpen', 'the account is already open');
  }
}

function requireOpen(state: AccountState): void {
  if (!state.opened) throw new AccountNotOpen();
}

function amountOf(event: DomainEvent): number {
  return amount.parse(event.payload).amount;
}

/** Account: core tier (single writer per partition), open / deposit / withdraw. */
export const account = defineAggregate<AccountState>({
  name: 'account',
  tier: 'core',
  commands: {
    OpenAccount: z.strictObject({
      owner: z.string().min(1).max(200),
      currency: z.string().regex(/^[A-Z]{3}$/),
    }),
    Deposit: amount,
    Withdraw: amount,
  },
  events: {
    AccountOpened: { version: 1, schema: z.strictObject({ owner: z.string(), currency: z.string() }) },
    Deposited: { version: 1, schema: amount },
    Withdrawn: { version: 1, schema: amount },
  },
  initialState: () => ({ opened: false, owner: null, currency: null, balance: 0 }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenAccount':
        if (state.opened) throw new AccountAlreadyOpen();
        return [{ type: 'AccountOpened', payload: command.payload }];
      case 'Deposit':
        requireOpen(state);
        return [{ type: 'Deposited', payload: command.payload }];
      case 'Withdraw': {
        requireOpen(state);
        const requested = amount.parse(command.payload).amount;
        if (requested > state.balance) throw new InsufficientFunds(state.balance, requested);
        return [{ type: 'Withdrawn', payload: command.payload }];
      }
      default:
        return [];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'AccountOpened':
        return {
          ...state,
          opened: true,
          owner: String(event.payload.owner),
          currency: String(event.payload.currency),
        };
      case 'Deposited':
        return { ...state, balance: state.balance + amountOf(event) };
      case 'Withdrawn':
        return { ...state, balance: state.balance - amountOf(event) };
      default:
        return state;
    }
  },
});
