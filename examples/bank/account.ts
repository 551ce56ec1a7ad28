import { z } from 'zod';
import { DomainError, type DomainEvent, defineAggregate } from '../../lib/model/index.ts';
import {
  type AccountTransfers,
  availableOf,
  decideTransferStep,
  evolveTransferStep,
  TRANSFER_COMMANDS,
  TRANSFER_EVENTS,
} from './account-transfers.ts';

/**
 * Balance in integer minor units (cents): no floating-point money. Transfer holds reserve funds without
 * moving them: `balance` counts them, `held` sums them, and only `balance - held` is available.
 */
export interface AccountState extends AccountTransfers {
  readonly opened: boolean;
  readonly owner: string | null;
  readonly currency: string | null;
  readonly balance: number;
}

const amount = z.strictObject({ amount: z.number().int().positive().max(1_000_000_000_00) });

/** Withdrawal (or transfer hold) larger than the available balance: accounts never overdraw. */
export class InsufficientFunds extends DomainError {
  override readonly name = 'InsufficientFunds';
  constructor(available: number, requested: number) {
    super('InsufficientFunds', `available balance ${available} is less than ${requested}`, {
      available,
      requested,
    });
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

const insufficient = (available: number, requested: number) => new InsufficientFunds(available, requested);

function requireOpen(state: AccountState): void {
  if (!state.opened) throw new AccountNotOpen();
}

function amountOf(event: DomainEvent): number {
  return amount.parse(event.payload).amount;
}

/**
 * Account: core tier (single writer per partition), open / deposit / withdraw, and the steps of a
 * transfer (hold, settle, release, credit), which only the transfer saga may send.
 */
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
    ...TRANSFER_COMMANDS,
  },
  internalCommands: Object.keys(TRANSFER_COMMANDS),
  events: {
    AccountOpened: { version: 1, schema: z.strictObject({ owner: z.string(), currency: z.string() }) },
    Deposited: { version: 1, schema: amount },
    Withdrawn: { version: 1, schema: amount },
    ...TRANSFER_EVENTS,
  },
  initialState: () => ({ opened: false, owner: null, currency: null, balance: 0 }),
  decide(command, state, context) {
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
        const available = availableOf(state);
        if (requested > available) throw new InsufficientFunds(available, requested);
        return [{ type: 'Withdrawn', payload: command.payload }];
      }
      case 'ReleaseHold':
        // Nothing can be held on an account that was never opened: no tombstone either.
        return state.opened ? decideTransferStep(command, state, insufficient, context.now) : [];
      default:
        if (!(command.type in TRANSFER_COMMANDS)) return [];
        requireOpen(state);
        return decideTransferStep(command, state, insufficient, context.now);
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
        return evolveTransferStep(state, event);
    }
  },
});
