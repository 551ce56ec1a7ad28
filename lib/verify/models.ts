import type { Operation } from './history.ts';

/**
 * A sequential specification for the linearizability checker: `step` answers the state after `op`, or
 * undefined when `op` (with the result it reported) is impossible in `state`. An `info` operation has no
 * result to check, only its effect. `key` must identify states that behave identically.
 */
export interface Model<S> {
  readonly name: string;
  init(): S;
  step(state: S, op: Operation): S | undefined;
  key(state: S): string;
  /** Whether a failed op tells something about the state (a domain refusal) and must be linearized. */
  informative(op: Operation): boolean;
}

/** State of the account model. */
export interface AccountModelState {
  readonly opened: boolean;
  readonly balance: number;
}

/** Refusals the account decider gives, each a statement about the state at the linearization point. */
const ACCOUNT_REFUSALS = new Set(['InsufficientFunds', 'AccountNotOpen', 'AccountAlreadyOpen']);

function refusal(state: AccountModelState, op: Operation): AccountModelState | undefined {
  const amount = Number(op.input);
  switch (op.error) {
    case 'InsufficientFunds':
      return state.opened && op.f === 'withdraw' && state.balance < amount ? state : undefined;
    case 'AccountNotOpen':
      return state.opened ? undefined : state;
    case 'AccountAlreadyOpen':
      return state.opened && op.f === 'open' ? state : undefined;
    default:
      return undefined;
  }
}

/** The balance reported by an ok'd op must be the model's; info ops have none to compare. */
function reported(op: Operation, balance: number): boolean {
  return op.outcome !== 'ok' || op.output === null || op.output === balance;
}

/**
 * Our counter: an account that must be opened once, takes deposits, and refuses a withdrawal larger than
 * the balance (no overdraw). Ok'd deposits and withdrawals report the balance after them.
 */
export const accountModel: Model<AccountModelState> = {
  name: 'account',
  init: () => ({ opened: false, balance: 0 }),
  key: (s) => `${s.opened ? 1 : 0}:${s.balance}`,
  informative: (op) => op.outcome === 'fail' && ACCOUNT_REFUSALS.has(op.error ?? ''),
  step(state, op) {
    if (op.outcome === 'fail') return refusal(state, op);
    const amount = Number(op.input);
    switch (op.f) {
      case 'open':
        return state.opened ? undefined : { opened: true, balance: 0 };
      case 'deposit': {
        const balance = state.balance + amount;
        return state.opened && reported(op, balance) ? { opened: true, balance } : undefined;
      }
      case 'withdraw': {
        const balance = state.balance - amount;
        return state.opened && balance >= 0 && reported(op, balance) ? { opened: true, balance } : undefined;
      }
      case 'read':
        return op.output === state.balance ? state : undefined;
      default:
        return undefined;
    }
  },
};

/** A single read/write register (strings, null when never written). */
export const registerModel: Model<string | null> = {
  name: 'register',
  init: () => null,
  key: (s) => JSON.stringify(s),
  informative: () => false,
  step(state, op) {
    if (op.outcome === 'fail') return undefined;
    if (op.f === 'write') return typeof op.input === 'string' ? op.input : undefined;
    if (op.f === 'read') return op.outcome === 'info' || op.output === state ? state : undefined;
    return undefined;
  },
};
