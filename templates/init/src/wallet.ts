import { DomainError, defineAggregate, z } from 'multiactive';

/**
 * A wallet: money, so `core` tier (the seed's 金融交易). Each wallet has one home region at a time and
 * every write is decided there, fenced by an epoch: two regions can never both spend the same balance.
 * Amounts are integer minor units (cents), never floating point.
 */
export interface WalletState {
  readonly opened: boolean;
  readonly owner: string | null;
  readonly currency: string | null;
  readonly balance: number;
}

const amount = z.strictObject({ amount: z.number().int().positive().max(1_000_000_000) });
const opening = z.strictObject({
  owner: z.string().min(1).max(200),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

/** A command other than OpenWallet sent to a wallet that was never opened. */
export class WalletNotOpen extends DomainError {
  override readonly name = 'WalletNotOpen';
  constructor() {
    super('WalletNotOpen', 'the wallet has not been opened');
  }
}

/** OpenWallet sent to a wallet that is already open. */
export class WalletAlreadyOpen extends DomainError {
  override readonly name = 'WalletAlreadyOpen';
  constructor() {
    super('WalletAlreadyOpen', 'the wallet is already open');
  }
}

/** A debit larger than the balance: wallets never go below zero. */
export class InsufficientFunds extends DomainError {
  override readonly name = 'InsufficientFunds';
  constructor(balance: number, requested: number) {
    super('InsufficientFunds', `balance ${balance} is less than ${requested}`, { balance, requested });
  }
}

function requireOpen(state: WalletState): void {
  if (!state.opened) throw new WalletNotOpen();
}

export const wallet = defineAggregate<WalletState>({
  name: 'wallet',
  tier: 'core',
  commands: { OpenWallet: opening, Credit: amount, Debit: amount },
  events: {
    WalletOpened: { version: 1, schema: opening },
    Credited: { version: 1, schema: amount },
    Debited: { version: 1, schema: amount },
  },
  initialState: () => ({ opened: false, owner: null, currency: null, balance: 0 }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenWallet':
        if (state.opened) throw new WalletAlreadyOpen();
        return [{ type: 'WalletOpened', payload: command.payload }];
      case 'Credit':
        requireOpen(state);
        return [{ type: 'Credited', payload: command.payload }];
      case 'Debit': {
        requireOpen(state);
        const requested = amount.parse(command.payload).amount;
        if (requested > state.balance) throw new InsufficientFunds(state.balance, requested);
        return [{ type: 'Debited', payload: command.payload }];
      }
      default:
        return [];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'WalletOpened': {
        const { owner, currency } = opening.parse(event.payload);
        return { ...state, opened: true, owner, currency };
      }
      case 'Credited':
        return { ...state, balance: state.balance + amount.parse(event.payload).amount };
      case 'Debited':
        return { ...state, balance: state.balance - amount.parse(event.payload).amount };
      default:
        return state;
    }
  },
});
